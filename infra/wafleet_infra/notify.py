"""Webhooks and owner e-mails: the delivery queue and its dead-letter queue, the role of the
two functions, the stream subscriptions, and the SES sender."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chalicelib.store.access import ACTIVATION_REQUEST_ATTRIBUTES, ACTIVATION_TENANT_ATTRIBUTES
from wafleet_infra.alarms import emitted
from wafleet_infra.tables import Tables

QUEUE_NAME = "wafleet-webhooks"  # app.py's WEBHOOK_QUEUE: Chalice subscribes by name
DLQ_NAME = "wafleet-webhooks-dlq"


class Notify(Construct):
    """Everything between a table write and a receiver or an inbox."""

    def __init__(
        self, scope: Construct, construct_id: str, *, tables: Tables, alert_from: str | None
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=DLQ_NAME,
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            "Deliveries",
            queue_name=QUEUE_NAME,
            visibility_timeout=Duration.seconds(60),  # > the function's timeout
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # A message the function keeps failing on (not a receiver's fault) parks here too.
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.dlq),
        )
        self.alert_from = alert_from
        # The two functions' own role: the hooks table, reading what a delivery needs, the
        # streams, the queues, the SES identity and the setup activation; nothing of the
        # workers or the launcher.
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AWSLambdaBasicExecutionRole"
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:Query",
                ],
                resources=[tables.hooks.table_arn],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:Scan"], resources=[tables.users.table_arn])
        )
        # A worker's READY makes the tenant's approved setup request ACTIVE
        # (workers.session_linked): the setup status on both items, nothing else.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[tables.tenants.table_arn])
        )
        for table, names in (
            (tables.tenants, ACTIVATION_TENANT_ATTRIBUTES),
            (tables.setup, ACTIVATION_REQUEST_ATTRIBUTES),
        ):
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:UpdateItem"],
                    resources=[table.table_arn],
                    conditions={
                        "ForAllValues:StringEquals": {"dynamodb:Attributes": sorted(names)}
                    },
                )
            )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
                resources=[f"{t.table_arn}/stream/*" for t in tables.streamed()],
            )
        )
        self.queue.grant_send_messages(self.role)
        self.queue.grant_consume_messages(self.role)
        self.dlq.grant_send_messages(self.role)
        if alert_from:
            identity = ses.EmailIdentity(
                self, "AlertSender", identity=ses.Identity.email(alert_from)
            )
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["ses:SendEmail"],
                    resources=[
                        Stack.of(self).format_arn(
                            service="ses",
                            resource="identity",
                            resource_name=identity.email_identity_name,
                        )
                    ],
                )
            )

    def env(self, portal_url: str) -> dict[str, str]:
        """What the functions read (``chalicelib/settings.py``)."""
        env = {
            "WAFLEET_WEBHOOK_QUEUE_URL": self.queue.queue_url,
            "WAFLEET_WEBHOOK_DLQ_URL": self.dlq.queue_url,
            "WAFLEET_PORTAL_URL": portal_url,
        }
        if self.alert_from:
            env["WAFLEET_ALERT_FROM"] = self.alert_from
        return env

    def subscribe(self, fanout: lambda_.IFunction, tables: Tables) -> None:
        """The stream function reads each streamed table's changes, in order, with retries
        and a split of a failing batch; the tenants table only when a code is on screen."""
        for table in tables.streamed():
            code_on_screen = {"dynamodb": {"NewImage": {"qr": {"S": lambda_.FilterRule.exists()}}}}
            filters = (
                [lambda_.FilterCriteria.filter(code_on_screen)] if table is tables.tenants else None
            )
            lambda_.EventSourceMapping(
                self,
                f"Stream{table.node.id}",
                target=fanout,
                event_source_arn=table.table_stream_arn,
                starting_position=lambda_.StartingPosition.LATEST,
                batch_size=100,
                max_batching_window=Duration.seconds(0),
                bisect_batch_on_error=True,
                retry_attempts=10,
                filters=filters,
            )

    def alarm_metrics(self) -> dict[str, tuple[cloudwatch.IMetric, float]]:
        """Dead-lettered deliveries (any), and the share of attempts that failed (over 50 %)."""
        failure_rate = cloudwatch.MathExpression(
            expression="100 * f / MAX([f + d, 1])",
            using_metrics={
                "f": emitted("webhooks", "WebhookFailures"),
                "d": emitted("webhooks", "WebhooksDelivered"),
            },
            label="webhook attempts failing (%)",
            period=Duration.minutes(5),
        )
        dead = self.dlq.metric_approximate_number_of_messages_visible(period=Duration.minutes(5))
        return {"WebhookDeadLetters": (dead, 0), "WebhookFailureRate": (failure_rate, 50)}
