"""The control plane: the Chalice app (portal + admin API, reaper schedule, ECS task events)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aws_cdk import Fn
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from wafleet_infra.tables import Tables, grant

ROOT = Path(__file__).resolve().parents[2]
# Concurrent webhook deliveries: reserved for them, and the most the queue's poller starts.
# A delivery lasts at most WAFLEET_WEBHOOK_TIMEOUT_S, so this is also deliveries per 5 s.
DELIVERY_CONCURRENCY = 20
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


class Api(Construct):
    """API Gateway + Lambda functions packaged by ``chalice.cdk`` from the repository root."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tables: Tables,
        env: dict[str, str],
        package: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AWSLambdaBasicExecutionRole"
            )
        )
        grant(self.role, tables, TABLE_ACTIONS)
        # Page cursors are signed with one key shared by every API instance.
        cursor_key = secretsmanager.Secret(
            self,
            "CursorKey",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
        )
        self.env = env | {"WAFLEET_CURSOR_KEY": cursor_key.secret_value.unsafe_unwrap()}
        self.package = package
        self.notify_role_arn: str | None = None
        self.domain: str | None = None
        self.functions: dict[str, lambda_.IFunction] = {}

    def build(self) -> None:
        """Package the app (after every environment variable is known)."""
        if not self.package:
            return
        from chalice.cdk import Chalice

        # `chalice package` opens a boto3 session, which wants a region even though the
        # template it writes is region-agnostic: synthesis needs no AWS configuration.
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        app = Chalice(
            self,
            "App",
            source_dir=str(ROOT),
            stage_config={
                "api_gateway_stage": "api",
                "manage_iam_role": False,
                "iam_role_arn": self.role.role_arn,
                "environment_variables": self.env,
                "lambda_memory_size": 512,
                "lambda_timeout": 30,
            },
        )
        if self.notify_role_arn:
            # The webhook functions run with their own, narrower role (notify.py); Chalice's
            # stage config applies one role to every function, so it is set here.
            for name in ("WebhookFanout", "WebhookDeliver"):
                function: Any = app.get_resource(name)
                function.add_property_override("Role", self.notify_role_arn)
        deliver: Any = app.get_resource("WebhookDeliver")
        # Deliveries get a pool of their own, and never more than it: slow receivers cannot
        # take the account's concurrency from the API, nor the API theirs.
        deliver.add_property_override("ReservedConcurrentExecutions", DELIVERY_CONCURRENCY)
        deliver.add_property_override(
            "Events.WebhookDeliverSqsEventSource.Properties.ScalingConfig",
            {"MaximumConcurrency": DELIVERY_CONCURRENCY},
        )
        rest_api: Any = app.get_resource("RestAPI")
        # API Gateway's own errors in the API's error shape, never echoing the request: its
        # default 403 for an unknown route repeats the Authorization header.
        rest_api.add_property_override(
            "DefinitionBody.x-amazon-apigateway-gateway-responses", GATEWAY_RESPONSES
        )
        self.domain = Fn.sub(
            "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}", {"RestAPI": rest_api.ref}
        )
        self.functions = {
            name: app.get_function(name)
            for name in ("APIHandler", "Reaper", "TaskStopped", "WebhookFanout", "WebhookDeliver")
        }
