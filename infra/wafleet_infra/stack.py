"""The wafleet stack: tables, sign-in, workers, sessions, portal, API, alarms."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from wafleet_infra.tables import Tables, create_tables

ROOT = Path(__file__).resolve().parents[2]
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self' https://*.amazoncognito.com; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
ASSET_EXCLUDES = [
    ".git",
    ".venv",
    "var",
    "cdk.out",
    "infra/cdk.out",
    "**/__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "docs",
    "tests",
    "bench",
    "portal_static",
]
TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchWriteItem",
]
WORKER_TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
]


def _gateway_response(status: str | None, code: str, message: str) -> dict[str, object]:
    """A fixed body (no $context.error.message: it can echo the request); the status is kept
    as API Gateway chose it (429, 413, …) unless given."""
    body = '{"error": {"code": "%s", "message": "%s"}}' % (code, message)  # noqa: UP031
    return {
        **({"statusCode": status} if status else {}),
        "responseParameters": {
            "gatewayresponse.header.Cache-Control": "'no-store'",
            "gatewayresponse.header.X-Content-Type-Options": "'nosniff'",
        },
        "responseTemplates": {"application/json": body},
    }


GATEWAY_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": _gateway_response("404", "not_found", "no such route"),
    "DEFAULT_4XX": _gateway_response(None, "refused", "the request was refused"),
    "DEFAULT_5XX": _gateway_response(None, "internal_error", "Something went wrong on our side."),
}


class WafleetStack(Stack):
    """Everything wafleet needs in one account and region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cognito_domain_prefix: str,
        alarm_email: str | None = None,
        heartbeat_s: int = 15,
        stale_s: int = 45,
        package_api: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        tables = create_tables(self)

        # --- sign-in ---------------------------------------------------------------------
        pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=RemovalPolicy.RETAIN,
        )
        domain = pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=cognito_domain_prefix),
        )

        # --- sessions (browser logins) -----------------------------------------------------
        sessions_key = kms.Key(
            self, "SessionsKey", enable_key_rotation=True, description="wafleet worker logins"
        )
        sessions = s3.Bucket(
            self,
            "Sessions",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=sessions_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(7))],
        )

        # --- workers -----------------------------------------------------------------------
        vpc = ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=1)
        cluster = ecs.Cluster(self, "Workers", vpc=vpc)
        workers_sg = ec2.SecurityGroup(
            self,
            "WorkerSG",
            vpc=vpc,
            allow_all_outbound=True,
            description="wafleet workers: outbound only",
        )
        task = ecs.FargateTaskDefinition(self, "Worker", cpu=512, memory_limit_mib=1024)
        log_group = logs.LogGroup(
            self,
            "WorkerLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        common_env = self._table_env(tables) | {
            "WAFLEET_HEARTBEAT_S": str(heartbeat_s),
            "WAFLEET_STALE_S": str(stale_s),
        }
        task.add_container(
            "worker",
            image=ecs.ContainerImage.from_asset(
                str(ROOT), file="worker_container/Dockerfile", exclude=ASSET_EXCLUDES
            ),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="worker", log_group=log_group),
            environment=common_env
            | {
                "WAFLEET_SESSION_BUCKET": sessions.bucket_name,
                "WAFLEET_SESSION_KMS_KEY": sessions_key.key_arn,
            },
            stop_timeout=Duration.seconds(30),
        )
        self._grant_tables(task.task_role, tables, WORKER_TABLE_ACTIONS)
        task.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[sessions.arn_for_objects("sessions/*")],
            )
        )
        sessions_key.grant_encrypt_decrypt(task.task_role)

        # --- portal (one origin: / from S3, /api/* to API Gateway) ---------------------------
        portal = s3.Bucket(
            self,
            "Portal",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=CSP, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365),
                    include_subdomains=True,
                    override=True,
                ),
            ),
        )

        # --- API (Chalice) ---------------------------------------------------------------
        api_role = iam.Role(
            self, "ApiRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
        )
        api_role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AWSLambdaBasicExecutionRole"
            )
        )
        self._grant_tables(api_role, tables, TABLE_ACTIONS)
        api_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ecs:RunTask"],
                resources=[task.task_definition_arn],
                conditions={"ArnEquals": {"ecs:cluster": cluster.cluster_arn}},
            )
        )
        api_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ecs:StopTask", "ecs:TagResource"],
                resources=[
                    f"arn:{self.partition}:ecs:{self.region}:{self.account}:task/"
                    f"{cluster.cluster_name}/*"
                ],
            )
        )
        api_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[task.task_role.role_arn, task.obtain_execution_role().role_arn],
            )
        )
        portal_url = str(self.node.try_get_context("portalUrl") or "https://localhost").rstrip("/")
        client = pool.add_client(
            "Portal",
            o_auth=cognito.OAuthSettings(
                # The code flow with PKCE only: no tokens in URLs (the implicit flow is off).
                flows=cognito.OAuthFlows(authorization_code_grant=True, implicit_code_grant=False),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                # The portal's public URL (cdk deploy -c portalUrl=https://bots.example.com): the
                # CDN's own name cannot be used here, the API (which needs this client) is
                # behind the CDN.
                callback_urls=[f"{portal_url}/index.html"],
            ),
            generate_secret=False,
            id_token_validity=Duration.hours(1),
            prevent_user_existence_errors=True,
        )
        issuer = f"https://cognito-idp.{self.region}.amazonaws.com/{pool.user_pool_id}"
        # Page cursors are signed with one key shared by every API instance.
        cursor_key = secretsmanager.Secret(
            self,
            "CursorKey",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
        )
        api_env = common_env | {
            "WAFLEET_CURSOR_KEY": cursor_key.secret_value.unsafe_unwrap(),
            "WAFLEET_JWT_ISSUER": issuer,
            "WAFLEET_JWT_AUDIENCE": client.user_pool_client_id,
            "WAFLEET_JWKS_URL": f"{issuer}/.well-known/jwks.json",
            "WAFLEET_LAUNCHER": "ecs",
            "WAFLEET_ECS_CLUSTER": cluster.cluster_arn,
            "WAFLEET_ECS_TASK_DEFINITION": task.task_definition_arn,
            "WAFLEET_ECS_CONTAINER": "worker",
            "WAFLEET_ECS_SUBNETS": Fn.join(",", [s.subnet_id for s in vpc.private_subnets]),
            "WAFLEET_ECS_SECURITY_GROUPS": workers_sg.security_group_id,
            "WAFLEET_AUTO_RESTART": "1",
        }
        api_domain = self._api(api_role, api_env) if package_api else None

        behaviors = {}
        if api_domain is not None:
            behaviors["/api/*"] = cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(api_domain),
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=(
                    cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                response_headers_policy=headers,
            )
        distribution = cloudfront.Distribution(
            self,
            "Cdn",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(portal),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=headers,
            ),
            additional_behaviors=behaviors,
            default_root_object="index.html",
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
        )
        s3deploy.BucketDeployment(
            self,
            "PortalFiles",
            sources=[
                s3deploy.Source.asset(str(ROOT / "portal_static"), exclude=["config.json"]),
                s3deploy.Source.json_data(
                    "config.json",
                    {
                        "auth": "cognito",
                        "authorizeUrl": domain.base_url() + "/oauth2/authorize",
                        "tokenUrl": domain.base_url() + "/oauth2/token",
                        "clientId": client.user_pool_client_id,
                        "apiBase": "/api",
                    },
                ),
            ],
            destination_bucket=portal,
            distribution=distribution,
        )

        # --- alarms --------------------------------------------------------------------------
        topic = sns.Topic(
            self, "Alarms", master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns")
        )
        if alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        alarms = {
            "StaleWorkers": cloudwatch.Metric(
                namespace="wafleet",
                metric_name="ReapedWorkers",
                statistic="Sum",
                period=Duration.minutes(5),
            ),
            "ReaperErrors": cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name="Errors",
                statistic="Sum",
                dimensions_map={"FunctionName": "wafleet-prod-reaper"},
                period=Duration.minutes(5),
            ),
            "Api5xx": cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name="5XXError",
                statistic="Sum",
                dimensions_map={"ApiName": "wafleet"},
                period=Duration.minutes(5),
            ),
        }
        for name, metric in alarms.items():
            alarm = cloudwatch.Alarm(
                self,
                name,
                metric=metric,
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"wafleet: {name}",
            )
            alarm.add_alarm_action(actions.SnsAction(topic))

        CfnOutput(self, "PortalUrl", value=f"https://{distribution.distribution_domain_name}")
        CfnOutput(self, "UserPoolId", value=pool.user_pool_id)
        CfnOutput(self, "SignInDomain", value=domain.base_url())

    def _table_env(self, tables: Tables) -> dict[str, str]:
        return {
            "WAFLEET_TENANTS_TABLE": tables.tenants.table_name,
            "WAFLEET_HISTORY_TABLE": tables.history.table_name,
            "WAFLEET_MESSAGES_TABLE": tables.messages.table_name,
            "WAFLEET_SETUP_TABLE": tables.setup.table_name,
            "WAFLEET_EVENTS_TABLE": tables.events.table_name,
            "WAFLEET_USERS_TABLE": tables.users.table_name,
        }

    def _grant_tables(self, role: iam.IRole, tables: Tables, actions_: list[str]) -> None:
        resources = []
        for table in tables.all():
            resources += [table.table_arn, f"{table.table_arn}/index/*"]
        role.add_to_principal_policy(iam.PolicyStatement(actions=actions_, resources=resources))

    def _api(self, role: iam.Role, env: dict[str, str]) -> str:
        """The Chalice app (portal + admin API, reaper schedule, ECS task-state rule)."""
        from chalice.cdk import Chalice

        app = Chalice(
            self,
            "Api",
            source_dir=str(ROOT),
            stage_config={
                "api_gateway_stage": "api",
                "manage_iam_role": False,
                "iam_role_arn": role.role_arn,
                "environment_variables": env,
                "lambda_memory_size": 512,
                "lambda_timeout": 30,
            },
        )
        rest_api = app.get_resource("RestAPI")
        # API Gateway's own errors in the API's error shape, never echoing the request: its
        # default 403 for an unknown route repeats the Authorization header.
        rest_api.add_property_override(
            "DefinitionBody.x-amazon-apigateway-gateway-responses", GATEWAY_RESPONSES
        )
        return Fn.sub(
            "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}",
            {"RestAPI": rest_api.ref},
        )
