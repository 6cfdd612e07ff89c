"""The DynamoDB tables, written out to match ``chalicelib/store/models.py``.

Written by hand on purpose: ``tests/infra/test_schema_drift.py`` creates these tables on
moto's CloudFormation and runs the store against them, so a model and a table cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as ddb
from aws_cdk import aws_iam as iam
from constructs import Construct

S = ddb.AttributeType.STRING
N = ddb.AttributeType.NUMBER


@dataclass
class Tables:
    """The eight tables, by role."""

    tenants: ddb.Table
    history: ddb.Table
    messages: ddb.Table
    setup: ddb.Table
    events: ddb.Table
    users: ddb.Table
    hooks: ddb.Table
    hosts: ddb.Table

    def all(self) -> list[ddb.Table]:
        """Every table."""
        return [
            self.tenants,
            self.history,
            self.messages,
            self.setup,
            self.events,
            self.users,
            self.hooks,
            self.hosts,
        ]

    def streamed(self) -> list[ddb.Table]:
        """The tables whose changes become webhooks and alerts (``chalicelib/notify``)."""
        return [self.tenants, self.history, self.messages, self.setup]


def _table(
    scope: Construct,
    name: str,
    pk: str,
    sk: tuple[str, ddb.AttributeType] | None = None,
    ttl: str | None = None,
    stream: bool = False,
) -> ddb.Table:
    return ddb.Table(
        scope,
        name,
        partition_key=ddb.Attribute(name=pk, type=S),
        sort_key=ddb.Attribute(name=sk[0], type=sk[1]) if sk else None,
        billing_mode=ddb.BillingMode.PAY_PER_REQUEST,
        encryption=ddb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=ttl,
        stream=ddb.StreamViewType.NEW_AND_OLD_IMAGES if stream else None,
        removal_policy=RemovalPolicy.RETAIN,
    )


def create_tables(scope: Construct) -> Tables:
    """Tables with the keys, indexes and TTL attributes the models use."""
    messages = _table(scope, "Messages", "tid", ("mk", S), ttl="exp", stream=True)
    messages.add_local_secondary_index(
        index_name="by_time",
        sort_key=ddb.Attribute(name="tk", type=S),
        projection_type=ddb.ProjectionType.ALL,
    )
    setup = _table(scope, "SetupRequests", "request_id", stream=True)
    setup.add_global_secondary_index(
        index_name="by_status",
        partition_key=ddb.Attribute(name="status", type=S),
        sort_key=ddb.Attribute(name="created_at", type=N),
        projection_type=ddb.ProjectionType.ALL,
    )
    users = _table(scope, "Users", "user_id")
    users.add_global_secondary_index(
        index_name="by_email",
        partition_key=ddb.Attribute(name="email", type=S),
        projection_type=ddb.ProjectionType.ALL,
    )
    return Tables(
        tenants=_table(scope, "Tenants", "tid", stream=True),
        history=_table(scope, "History", "tid", ("sk", S), ttl="exp", stream=True),
        messages=messages,
        setup=setup,
        events=_table(scope, "PortalEvents", "tid", ("sk", S), ttl="exp"),
        users=users,
        hooks=_table(scope, "Hooks", "tid", ("sk", S), ttl="exp"),
        # Worker hosts and their placements; no index, so a host's heartbeat is one write.
        hosts=_table(scope, "Hosts", "hid", ("sk", S), ttl="exp"),
    )


def table_env(tables: Tables) -> dict[str, str]:
    """The table names as the code reads them (``chalicelib/settings.py``)."""
    from chalicelib.settings import Settings, env_for

    return env_for(
        Settings,
        tenants_table=tables.tenants.table_name,
        history_table=tables.history.table_name,
        messages_table=tables.messages.table_name,
        setup_table=tables.setup.table_name,
        events_table=tables.events.table_name,
        users_table=tables.users.table_name,
        hooks_table=tables.hooks.table_name,
        hosts_table=tables.hosts.table_name,
    )


def grant(role: iam.IRole, tables: Tables, actions: list[str]) -> None:
    """Let ``role`` do ``actions`` on every table and its indexes."""
    resources = []
    for table in tables.all():
        resources += [table.table_arn, f"{table.table_arn}/index/*"]
    role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=resources))
