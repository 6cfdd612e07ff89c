"""Alarms and the fleet dashboard, built from the constructs' own metrics."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

# What our code emits (chalicelib/observability.py): namespace, dimension "service".
NAMESPACE = "wafleet"
FIVE_MINUTES = Duration.minutes(5)
CONNECTED_DROP = 20  # points of the connected share lost within 10 minutes


def emitted(service: str, name: str) -> cloudwatch.Metric:
    """A metric the code publishes as EMF through Powertools."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service},
        statistic="Sum",
        period=FIVE_MINUTES,
    )


class Alarms(Construct):
    """Alarm on stale workers, function errors and API 5xx; one dashboard of fleet health."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: dict[str, lambda_.IFunction],
        tenants_table: ddb.Table,
        email: str | None,
        extra: dict[str, tuple[cloudwatch.IMetric, float]] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        topic = sns.Topic(
            self, "Topic", master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns")
        )
        if email:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        stale = emitted("reaper", "ReapedWorkers")
        api_5xx = emitted("api", "Api5xx")
        # A session on which WhatsApp Web did not load several times in a row: most likely the
        # site changed under the pinned wa-js (the operator upgrades it).
        not_loaded = emitted("host", "WhatsAppNotLoaded")
        watched: dict[str, tuple[cloudwatch.IMetric, float]] = {
            "StaleWorkers": (stale, 0),
            "Api5xx": (api_5xx, 0),
            "WhatsAppNotLoaded": (not_loaded, 0),
            **(extra or {}),
        }
        for name, function in functions.items():
            errors = function.metric_errors(statistic="Sum", period=FIVE_MINUTES)
            watched[f"{name}Errors"] = (errors, 0)
        throttles = tenants_table.metric_throttled_requests_for_operations(
            operations=[ddb.Operation.UPDATE_ITEM, ddb.Operation.TRANSACT_WRITE_ITEMS],
            period=FIVE_MINUTES,
        )
        watched["HeartbeatThrottles"] = (throttles, 0)
        # Fleet health (the reaper counts it every run): a WhatsApp Web change that logs many
        # sessions out shows as the connected share falling. Alarm when it fell by more than
        # CONNECTED_DROP points from one 10-minute period to the next.
        share = emitted("reaper", "ConnectedShare").with_(
            statistic="Average", period=Duration.minutes(10)
        )
        drop = cloudwatch.MathExpression(
            expression="DIFF(share)", using_metrics={"share": share}, label="change of share"
        )

        def alarm(
            name: str,
            metric: cloudwatch.IMetric,
            threshold: float,
            *,
            periods: int = 1,
            below: bool = False,
        ) -> None:
            """Mail the operators when ``metric`` is past ``threshold`` for ``periods``
            periods in a row (above it, or ``below``)."""
            cloudwatch.Alarm(
                self,
                name,
                metric=metric,
                threshold=threshold,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                comparison_operator=(
                    cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
                    if below
                    else cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
                ),
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"wafleet: {name}",
            ).add_alarm_action(actions.SnsAction(topic))

        alarm("ConnectedShareDrop", drop, -CONNECTED_DROP, below=True)
        # The canary (worker_container/canary.py) probes every 5 minutes: a failure in each of
        # two periods in a row is two failed probes in a row.
        canary_failures = emitted("host", "CanaryFailures")
        alarm("CanaryFailing", canary_failures, 0, periods=2)
        # Customers waiting: messages still without their answer 2 minutes after they came
        # (each connected session counts its own every minute), for two periods in a row.
        unanswered = emitted("host", "InboundUnanswered").with_(statistic="Maximum")
        alarm("InboundUnanswered", unanswered, 0, periods=2)
        waiting = emitted("reaper", "SessionsWaitingForUpdate").with_(statistic="Maximum")
        watched["SessionsWaitingForUpdate"] = (waiting, 0)
        for name, (metric, threshold) in watched.items():
            alarm(name, metric, threshold)
        reaper = functions.get("Reaper")
        dashboard = cloudwatch.Dashboard(self, "Fleet", dashboard_name="wafleet-fleet")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Workers by status (counted by every reaper run)",
                left=[
                    emitted("reaper", f"Workers{status}").with_(statistic="Maximum")
                    for status in ("Running", "Starting", "Error", "Stopped")
                ],
            ),
            cloudwatch.GraphWidget(
                title="Workers found stale / restarted / candidates (reaper)",
                left=[
                    stale,
                    emitted("reaper", "RestartedWorkers"),
                    emitted("reaper", "ReaperCandidates"),
                ],
            ),
            cloudwatch.GraphWidget(
                title="Reaper runs and errors",
                left=[reaper.metric_invocations(period=FIVE_MINUTES)] if reaper else [],
                right=[reaper.metric_errors(period=FIVE_MINUTES)] if reaper else [],
            ),
            cloudwatch.GraphWidget(title="API errors", left=[emitted("api", "Api4xx"), api_5xx]),
            cloudwatch.GraphWidget(
                title="Sessions waiting for a wa-js update (WhatsApp Web did not load)",
                left=[not_loaded],
            ),
            cloudwatch.GraphWidget(
                title="Heartbeat write throttles (tenants table)", left=[throttles]
            ),
            cloudwatch.GraphWidget(
                title="Sessions by state, and waiting for a wa-js update (reaper)",
                left=[
                    emitted("reaper", f"Sessions{state}").with_(statistic="Maximum")
                    for state in ("Connected", "QrReady", "Disconnected")
                ]
                + [waiting],
            ),
            cloudwatch.GraphWidget(
                title="Connected share of linked, running bots (%)", left=[share]
            ),
            cloudwatch.GraphWidget(
                title="Canary probes and failures",
                left=[emitted("host", "CanaryProbes"), canary_failures],
            ),
            cloudwatch.GraphWidget(
                title="Reply latency p95 (ms, typing included) and unanswered after 2 minutes",
                left=[emitted("host", "ReplyLatencyMs").with_(statistic="p95")],
                right=[unanswered],
            ),
            cloudwatch.GraphWidget(
                title="Replies sent and browser relaunches (hosts)",
                left=[emitted("host", "RepliesSent")],
                right=[emitted("host", "BrowserRelaunches")],
            ),
        )
