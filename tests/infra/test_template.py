"""The synthesized template: encryption, least privilege, alarms, and cfn-lint clean."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.store.models import TenantModel
from tests.infra.conftest import ROOT, resources

# One synth for every test that reads it (with ``--dist loadgroup``: on one xdist worker).
pytestmark = pytest.mark.xdist_group("cdk")


def test_tables_are_on_demand_with_recovery_and_encryption(template: dict[str, Any]) -> None:
    tables = resources(template, "AWS::DynamoDB::Table")
    assert len(tables) == 8
    for table in tables.values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"
    ttl = [t["Properties"].get("TimeToLiveSpecification") for t in tables.values()]
    assert sum(1 for spec in ttl if spec == {"AttributeName": "exp", "Enabled": True}) == 5


def test_buckets_block_public_access_and_refuse_plain_http(template: dict[str, Any]) -> None:
    buckets = resources(template, "AWS::S3::Bucket")
    assert len(buckets) >= 2
    for bucket in buckets.values():
        block = bucket["Properties"]["PublicAccessBlockConfiguration"]
        assert all(
            block[k] is True
            for k in (
                "BlockPublicAcls",
                "BlockPublicPolicy",
                "IgnorePublicAcls",
                "RestrictPublicBuckets",
            )
        )
    policies = json.dumps(resources(template, "AWS::S3::BucketPolicy"))
    assert policies.count('"aws:SecureTransport": "false"') >= len(buckets)
    kms = [
        b
        for b in buckets.values()
        if b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        == "aws:kms"
    ]
    assert len(kms) == 1  # the browser-login bucket


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def test_no_wildcard_resource_where_a_table_bucket_or_cluster_can_be_named(
    template: dict[str, Any],
) -> None:
    for statement in _statements(template):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        ours = [a for a in actions if a.split(":")[0] in ("dynamodb", "ecs", "iam")]
        ours += [a for a in actions if a.startswith("s3:") and "Object" in a]
        if not ours:
            continue
        targets = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        assert "*" not in targets, statement


def _role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if role_id in json.dumps(policy["Properties"]["Roles"]):
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _tables_of(statement: dict[str, Any]) -> set[str]:
    """The tables a statement names, by the construct id that starts their logical id."""
    text = json.dumps(statement["Resource"])
    return {t for t in ALL_TABLES if re.search(rf'"{t}[0-9A-F]{{8}}"', text)}


ALL_TABLES = (
    "Tenants",
    "History",
    "Messages",
    "SetupRequests",
    "PortalEvents",
    "Users",
    "Hooks",
    "Hosts",
)


def test_the_worker_role_reaches_four_tables_and_only_its_own_tenant_attributes(
    template: dict[str, Any],
) -> None:
    from chalicelib.store.access import API_TENANT_ATTRIBUTES, WORKER_TENANT_ATTRIBUTES

    role = next(k for k in resources(template, "AWS::IAM::Role") if "WorkerTaskRole" in k)
    statements = _role_statements(template, role)
    dynamo = [s for s in statements if any(a.startswith("dynamodb:") for a in _listed(s["Action"]))]
    reached = set().union(*(_tables_of(s) for s in dynamo))
    # No users (no "role=admin"), no webhook secrets, no portal events, no setup requests.
    assert reached == {"Tenants", "History", "Messages", "Hosts"}

    plain = {t: set() for t in reached}  # actions granted without a condition
    for s in dynamo:
        if "Condition" not in s:
            for table in _tables_of(s):
                plain[table] |= set(_listed(s["Action"]))
    assert plain["Tenants"] == {"dynamodb:GetItem"}
    assert plain["History"] == {"dynamodb:PutItem"}
    assert {"dynamodb:Scan", "dynamodb:DeleteItem"} & (
        plain["Messages"] | plain["History"]
    ) == set()

    (writes,) = [s for s in dynamo if "Condition" in s]
    assert _tables_of(writes) == {"Tenants"}
    assert set(_listed(writes["Action"])) == {"dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"}
    allowed = set(writes["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"])
    assert allowed == WORKER_TENANT_ATTRIBUTES
    owned_by_the_api = (
        TenantModel.setup_status,
        TenantModel.setup_id,
        TenantModel.phone,
        TenantModel.name,
        TenantModel.template_type,
        TenantModel.desired,
        TenantModel.link_phone,
        TenantModel.restarts,
    )
    names = {str(a.attr_name) for a in owned_by_the_api}
    assert names <= API_TENANT_ATTRIBUTES and not names & allowed

    storage = [s for s in statements if s not in dynamo]
    (media,) = [s for s in storage if "Media" in json.dumps(s["Resource"])]
    assert _listed(media["Action"]) == ["s3:GetObject"]  # the files of answers: read only
    storage.remove(media)
    objects = [s for s in storage if "s3:GetObject" in _listed(s["Action"])]
    assert [json.dumps(s["Resource"]).endswith('"/sessions/*"]]}') for s in objects] == [True]
    (listing,) = [s for s in storage if "s3:ListBucket" in _listed(s["Action"])]
    assert set(_listed(listing["Action"])) == {"s3:ListBucket", "s3:ListBucketVersions"}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["sessions/*"]}}
    (sessions,) = [b for k, b in resources(template, "AWS::S3::Bucket").items() if "Sessions" in k]
    (rule,) = sessions["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NewerNoncurrentVersions"] == 2  # 3 kept
    (key,) = [s for s in storage if any(a.startswith("kms:") for a in _listed(s["Action"]))]
    assert set(_listed(key["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey"}
    bound = key["Condition"]["StringEquals"]
    assert bound["kms:ViaService"] == {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}
    assert "Sessions" in json.dumps(bound["kms:EncryptionContext:aws:s3:arn"])
    assert len(storage) == 3


def test_the_stream_function_writes_only_the_setup_status(template: dict[str, Any]) -> None:
    from chalicelib.store.access import (
        ACTIVATION_REQUEST_ATTRIBUTES,
        ACTIVATION_TENANT_ATTRIBUTES,
    )

    role = resources(template, "AWS::Serverless::Function")["WebhookFanout"]["Properties"]["Role"]
    statements = _role_statements(template, role["Fn::GetAtt"][0])
    writes = {
        table: s
        for s in statements
        for table in _tables_of(s)
        if table in ("Tenants", "SetupRequests") and "dynamodb:UpdateItem" in _listed(s["Action"])
    }
    assert set(writes) == {"Tenants", "SetupRequests"}
    for table, names in (
        ("Tenants", ACTIVATION_TENANT_ATTRIBUTES),
        ("SetupRequests", ACTIVATION_REQUEST_ATTRIBUTES),
    ):
        condition = writes[table]["Condition"]["ForAllValues:StringEquals"]
        assert set(condition["dynamodb:Attributes"]) == names
    assert not {"ph", "n", "own", "ep", "ws"} & ACTIVATION_TENANT_ATTRIBUTES


def test_worker_host_task_drains_within_the_spot_warning_and_logs(
    template: dict[str, Any],
) -> None:
    from wafleet_infra.workers import HOST_CPU, HOST_MEMORY_MIB, HOST_TENANTS

    (task,) = resources(template, "AWS::ECS::TaskDefinition").values()
    assert (task["Properties"]["Cpu"], task["Properties"]["Memory"]) == (
        str(HOST_CPU),
        str(HOST_MEMORY_MIB),
    )
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["StopTimeout"] == 120  # Fargate's longest; a Spot warning is 2 minutes
    env = {e["Name"]: e.get("Value") for e in container["Environment"]}
    assert env["WAFLEET_HOST_TENANTS"] == str(HOST_TENANTS)
    assert "WAFLEET_HOSTS_TABLE" in env
    # Spot first, on-demand as fallback: the cluster offers both capacity providers.
    (providers,) = resources(template, "AWS::ECS::ClusterCapacityProviderAssociations").values()
    assert set(providers["Properties"]["CapacityProviders"]) == {"FARGATE", "FARGATE_SPOT"}
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    names = {e["Name"] for e in container["Environment"]}
    assert {
        "WAFLEET_TENANTS_TABLE",
        "WAFLEET_SESSION_BUCKET",
        "WAFLEET_HEARTBEAT_S",
        "WAFLEET_STALE_S",
    } <= names


def test_portal_and_api_share_one_origin_with_security_headers(
    template: dict[str, Any],
) -> None:
    (cdn,) = resources(template, "AWS::CloudFront::Distribution").values()
    config = cdn["Properties"]["DistributionConfig"]
    assert [b["PathPattern"] for b in config["CacheBehaviors"]] == ["/api/*"]
    (headers,) = resources(template, "AWS::CloudFront::ResponseHeadersPolicy").values()
    security = headers["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert "frame-ancestors 'none'" in json.dumps(
        security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    )


def _run_function(code: str, event: dict[str, Any]) -> Any:
    """A CloudFront Function's code as deployed, run by node on one event."""
    script = f"{code}\nconsole.log(JSON.stringify(handler(JSON.parse(process.argv[1]))));"
    done = subprocess.run(
        ["node", "-e", script, json.dumps(event)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_a_missing_portal_page_is_a_404_with_a_way_back_and_the_api_is_left_alone(
    template: dict[str, Any],
) -> None:
    (cdn,) = resources(template, "AWS::CloudFront::Distribution").values()
    config = cdn["Properties"]["DistributionConfig"]
    assert "CustomErrorResponses" not in config  # they would replace the API's 403/404 too
    (api,) = config["CacheBehaviors"]
    assert "FunctionAssociations" not in api
    functions = {
        key: f["Properties"]["FunctionCode"]
        for key, f in resources(template, "AWS::CloudFront::Function").items()
    }
    by_event = {
        a["EventType"]: functions[a["FunctionARN"]["Fn::GetAtt"][0]]
        for a in config["DefaultCacheBehavior"]["FunctionAssociations"]
    }
    request, response = by_event["viewer-request"], by_event["viewer-response"]

    def served(uri: str) -> str:
        return str(_run_function(request, {"request": {"uri": uri}})["uri"])

    assert served("/status.html") == "/status.html" and served("/js/ui.js") == "/js/ui.js"
    assert served("/config.json") == "/config.json" and served("/") == "/"
    assert served("/statuss.html") == "/404.html" and served("/../etc/passwd") == "/404.html"
    page = (ROOT / "portal_static/404.html").read_text()
    assert 'href="/' in page  # the way back
    answer = {"request": {"uri": "/404.html"}, "response": {"statusCode": 200, "headers": {}}}
    assert _run_function(response, answer)["statusCode"] == 404
    fine = {"request": {"uri": "/status.html"}, "response": {"statusCode": 200, "headers": {}}}
    assert _run_function(response, fine)["statusCode"] == 200


def test_reaper_schedule_task_rule_and_alarms(template: dict[str, Any]) -> None:
    functions = resources(template, "AWS::Serverless::Function")
    events = json.dumps({k: f["Properties"].get("Events") for k, f in functions.items()})
    assert "rate(1 minute)" in events and "ECS Task State Change" in events
    # Roles live in the users table: no Cognito group pretends to grant one.
    assert not resources(template, "AWS::Cognito::UserPoolGroup")


def test_cfn_lint_finds_no_error(template: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "parseable", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ":E" in line]
    assert errors == [], result.stdout
    assert result.returncode in (0, 4), result.stdout + result.stderr  # 4: warnings only


def test_portal_sign_in_is_the_code_flow_only_back_to_the_portal(template: dict[str, Any]) -> None:
    (client,) = resources(template, "AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert props["AllowedOAuthFlows"] == ["code"]  # no implicit flow: no tokens in URLs
    assert "GenerateSecret" not in props or props["GenerateSecret"] is False  # PKCE, public
    assert all(url.endswith("/index.html") for url in props["CallbackURLs"])


def test_the_api_signs_cursors_with_a_generated_secret(template: dict[str, Any]) -> None:
    assert resources(template, "AWS::SecretsManager::Secret")
    functions = resources(template, "AWS::Serverless::Function") or resources(
        template, "AWS::Lambda::Function"
    )
    envs = [json.dumps(f["Properties"].get("Environment", {})) for f in functions.values()]
    assert any("WAFLEET_CURSOR_KEY" in e and "resolve:secretsmanager" in e for e in envs)


def test_gateway_errors_use_the_error_shape_and_echo_nothing(template: dict[str, Any]) -> None:
    (api,) = resources(template, "AWS::Serverless::Api").values()
    responses = api["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    unknown = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert unknown["statusCode"] == "404"
    for response in responses.values():
        body = json.loads(response["responseTemplates"]["application/json"])
        assert set(body["error"]) == {"code", "message"}
        assert "$" not in json.dumps(body)  # no $context.error.message: it echoes the request


def _logical_ids(value: Any) -> set[str]:
    """Every resource a Ref or Fn::GetAtt inside ``value`` points at."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value:
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for inner in value.values():
            found |= _logical_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _logical_ids(inner)
    return found


def test_every_alarm_watches_a_metric_that_exists(template: dict[str, Any]) -> None:
    root = Path(__file__).resolve().parents[2]
    code = "".join(
        (root / path).read_text()
        for path in (
            "app.py",
            "chalicelib/api/middleware.py",
            "worker_container/session.py",
            "worker_container/replies.py",
            "worker_container/canary.py",
        )
    )
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    described = {a["Properties"]["AlarmDescription"] for a in alarms}
    assert {
        "wafleet: StaleWorkers",
        "wafleet: Api5xx",
        "wafleet: ReaperErrors",
        "wafleet: APIHandlerErrors",
        "wafleet: HeartbeatThrottles",
        "wafleet: WhatsAppNotLoaded",
        "wafleet: ConnectedShareDrop",
        "wafleet: SessionsWaitingForUpdate",
        "wafleet: CanaryFailing",
        "wafleet: InboundUnanswered",
    } <= described
    (canary,) = [
        a for a in alarms if a["Properties"]["AlarmDescription"] == "wafleet: CanaryFailing"
    ]
    # Two failed probes in a row (one every 5 minutes): two breaching periods of two.
    assert (
        canary["Properties"]["EvaluationPeriods"],
        canary["Properties"]["DatapointsToAlarm"],
    ) == (2, 2)
    for alarm in alarms:
        props = alarm["Properties"]
        assert props["AlarmActions"]
        stats = (
            [props]
            if "MetricName" in props
            else [m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m]
        )
        assert stats, props
        for metric in stats:
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            if metric["Namespace"] == "wafleet":  # ours: emitted by the code, by that name
                assert metric["MetricName"] in code
                assert dims["service"] in ("reaper", "api", "webhooks", "host")
                continue
            targets = _logical_ids(list(dims.values()))
            assert targets, (props["AlarmDescription"], dims)  # a real resource, not a name
            kinds = {template["Resources"][t]["Type"] for t in targets}
            assert kinds <= {
                "AWS::Serverless::Function",
                "AWS::DynamoDB::Table",
                "AWS::SQS::Queue",
            }, kinds


def test_one_dashboard_shows_fleet_health(template: dict[str, Any]) -> None:
    (dashboard,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for shown in (
        "WorkersRunning",
        "WorkersError",
        "ReapedWorkers",
        "Api5xx",
        "Api4xx",
        "Invocations",
        "ThrottledRequests",
        "WhatsAppNotLoaded",
        "SessionsConnected",
        "ConnectedShare",
        "SessionsWaitingForUpdate",
        "RepliesSent",
        "BrowserRelaunches",
        "CanaryProbes",
        "CanaryFailures",
        "ReplyLatencyMs",
        "InboundUnanswered",
    ):
        assert shown in body, shown


def test_cdk_synth_needs_no_aws_configuration(cdk_out: Path) -> None:
    """The fixture synthesizes as `cdk synth` does, with an environment that knows nothing
    of AWS (conftest.cdk_out): the stack and its assets are there."""
    assert json.loads((cdk_out / "Wafleet.template.json").read_text())["Resources"]
    assert (cdk_out / "Wafleet.assets.json").exists()


def test_webhooks_flow_from_four_streams_through_a_queue_with_a_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    queues = {
        q["Properties"].get("QueueName"): q for q in resources(template, "AWS::SQS::Queue").values()
    }
    assert {"wafleet-webhooks", "wafleet-webhooks-dlq"} <= set(queues)
    redrive = queues["wafleet-webhooks"]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 5
    mappings = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if "StartingPosition" in m["Properties"]
    ]
    assert len(mappings) == 4
    assert all(m["BisectBatchOnFunctionError"] and m["MaximumRetryAttempts"] for m in mappings)
    filtered = [m for m in mappings if "FilterCriteria" in m]
    assert len(filtered) == 1 and '"qr"' in filtered[0]["FilterCriteria"]["Filters"][0]["Pattern"]
    streamed = [
        t
        for t in resources(template, "AWS::DynamoDB::Table").values()
        if t["Properties"].get("StreamSpecification")
    ]
    assert len(streamed) == 4
    described = {
        a["Properties"]["AlarmDescription"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }
    assert {"wafleet: WebhookDeadLetters", "wafleet: WebhookFailureRate"} <= described


def test_webhook_functions_have_their_own_narrow_role(template: dict[str, Any]) -> None:
    functions = resources(template, "AWS::Serverless::Function")
    roles = {name: f["Properties"]["Role"] for name, f in functions.items()}
    assert roles["WebhookFanout"] == roles["WebhookDeliver"] != roles["APIHandler"]
    role_id = roles["WebhookFanout"]["Fn::GetAtt"][0]
    text = json.dumps(
        [
            p
            for p in resources(template, "AWS::IAM::Policy").values()
            if role_id in json.dumps(p["Properties"]["Roles"])
        ]
    )
    assert "ecs:RunTask" not in text and "iam:PassRole" not in text and "s3:" not in text
    assert "dynamodb:GetRecords" in text and "sqs:SendMessage" in text


def test_webhook_deliveries_have_a_reserved_pool_and_never_more(template: dict[str, Any]) -> None:
    functions = resources(template, "AWS::Serverless::Function")
    deliver = functions["WebhookDeliver"]["Properties"]
    reserved = deliver["ReservedConcurrentExecutions"]
    source = deliver["Events"]["WebhookDeliverSqsEventSource"]["Properties"]
    assert source["BatchSize"] == 1  # one slow receiver holds one delivery, no batch
    assert 2 <= source["ScalingConfig"]["MaximumConcurrency"] <= reserved
    # The API keeps the account's unreserved pool: nothing else is reserved out of it.
    assert all(
        "ReservedConcurrentExecutions" not in f["Properties"]
        for name, f in functions.items()
        if name != "WebhookDeliver"
    )


def test_files_of_answers_are_uploaded_from_the_portal_only_and_read_by_api_and_workers(
    template: dict[str, Any],
) -> None:
    ((name, bucket),) = [
        (k, b) for k, b in resources(template, "AWS::S3::Bucket").items() if "Media" in k
    ]
    (rule,) = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"] and rule["AllowedOrigins"] == ["https://localhost"]
    api = next(k for k in resources(template, "AWS::IAM::Role") if k.startswith("ApiRole"))
    reaching = [s for s in _role_statements(template, api) if name in json.dumps(s["Resource"])]
    assert [sorted(_listed(s["Action"])) for s in reaching] == [["s3:GetObject", "s3:PutObject"]]
    api_env = json.dumps(resources(template, "AWS::Serverless::Function")["APIHandler"])
    assert "WAFLEET_MEDIA_BUCKET" in api_env
    policy = json.dumps(resources(template, "AWS::CloudFront::ResponseHeadersPolicy"))
    assert name in policy  # the portal's pages may send files to that bucket, and no other


def test_the_hosts_proxy_url_comes_from_secrets_manager_read_by_the_execution_role_only(
    template: dict[str, Any],
) -> None:
    from tests.infra.conftest import PROXY_SECRET

    (task,) = resources(template, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["Secrets"] == [{"Name": "WAFLEET_PROXY_URL", "ValueFrom": PROXY_SECRET}]
    assert "WAFLEET_PROXY_URL" not in json.dumps(container.get("Environment", []))
    reading = [
        (role, s)
        for role in resources(template, "AWS::IAM::Role")
        for s in _role_statements(template, role)
        if PROXY_SECRET in json.dumps(s["Resource"])
    ]
    assert [role for role, _s in reading] == [
        r for r in resources(template, "AWS::IAM::Role") if "WorkerExecutionRole" in r
    ]


def test_the_fleets_pinned_whatsapp_web_version_reaches_the_hosts_and_its_page_the_image(
    template: dict[str, Any], cdk_out: Path
) -> None:
    from tests.infra.conftest import WA_VERSION, WA_VERSIONS

    (task,) = resources(template, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert {"Name": "WAFLEET_WA_VERSION", "Value": WA_VERSION} in container["Environment"]
    manifest = json.loads((cdk_out / "Wafleet.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    # The image is built with the pages of the fleet's pin and of the versions listed.
    assert image["source"]["dockerBuildArgs"] == {
        "WA_VERSIONS": " ".join(sorted({WA_VERSION, WA_VERSIONS}))
    }


def test_a_misspelt_whatsapp_web_version_in_the_context_stops_the_synth() -> None:
    import aws_cdk as cdk
    from wafleet_infra.stack import wa_versions

    app = cdk.App(context={"wafleet:waVersions": "2.3000.1-alpha, latest"})
    with pytest.raises(ValueError, match="wafleet:waVersions"):
        wa_versions(app.node)
    assert wa_versions(cdk.App(context={"wafleet:waVersions": ["2.3000.1-alpha"]}).node) == {
        "wa_version": None,
        "wa_versions": ("2.3000.1-alpha",),
    }
