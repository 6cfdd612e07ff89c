"""The workers: their network, cluster (Fargate Spot first, Fargate as fallback), the worker
host's task definition, logs, and the saved logins (S3 + KMS)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Fn, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from chalicelib.settings import Settings, env_for
from chalicelib.store.access import (
    TENANT_WRITES,
    WORKER_MEDIA_ACTIONS,
    WORKER_TABLE_ACTIONS,
    WORKER_TENANT_ATTRIBUTES,
)
from wafleet_infra.tables import Tables
from worker_container.config import HostConfig, WorkerConfig
from worker_container.login_store import KEPT

ROOT = Path(__file__).resolve().parents[2]
ASSET_EXCLUDES = [
    ".git",
    ".venv",
    "var",
    "cdk.out",
    "infra/cdk.out",
    "infra/chalice.out",
    "node_modules",
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

# The host task, sized by bench/packing.py for the real WhatsApp Web page (~400 MB a
# tenant): the cheapest Fargate size per tenant with 85 % of its memory planned for (34 at
# 400 MB plus the host's 290 MB) and half its CPU at the measured idle load. A host's room
# still shrinks at run time if its tenants measure heavier.
HOST_CPU = 2048
HOST_MEMORY_MIB = 16384
HOST_TENANTS = 34
# Fargate's longest: a Spot interruption gives 2 minutes; a drain needs a few seconds a tenant.
STOP_TIMEOUT_S = 120


def worker_statements(
    tables: Tables, sessions: s3.IBucket, key: kms.IKey, media: s3.IBucket
) -> list[iam.PolicyStatement]:
    """The worker task role (``chalicelib/store/access.py``): its four tables, on the tenant
    item only the attributes a worker owns, its saved logins under ``sessions/`` through S3,
    and a read of the files answers carry."""
    found = [
        iam.PolicyStatement(
            actions=list(WORKER_MEDIA_ACTIONS), resources=[media.arn_for_objects("*")]
        )
    ]
    for setting, actions in WORKER_TABLE_ACTIONS.items():
        table = getattr(tables, setting.removesuffix("_table"))
        found.append(
            iam.PolicyStatement(
                actions=[f"dynamodb:{a}" for a in actions],
                resources=[table.table_arn, f"{table.table_arn}/index/*"],
            )
        )
    # IAM checks each item of a transaction as its own UpdateItem / ConditionCheckItem, with
    # the attributes it names (update, condition and key). Reads are not limited by attribute
    # (the worker reads its tenant's name, number and template to answer), so limiting
    # ReturnValues would hide nothing it cannot read anyway.
    found.append(
        iam.PolicyStatement(
            actions=[f"dynamodb:{a}" for a in TENANT_WRITES],
            resources=[tables.tenants.table_arn],
            conditions={
                "ForAllValues:StringEquals": {
                    "dynamodb:Attributes": sorted(WORKER_TENANT_ATTRIBUTES)
                }
            },
        )
    )
    found.append(
        iam.PolicyStatement(
            # GetObjectVersion: a restore falls back to the archive before a torn newest one.
            actions=["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"],
            resources=[sessions.arn_for_objects("sessions/*")],
        )
    )
    # Without ListBucket, S3 answers a missing object with 403 instead of 404: a tenant with
    # no saved login yet could not start. Only the sessions/ prefix may be listed.
    found.append(
        iam.PolicyStatement(
            actions=["s3:ListBucket", "s3:ListBucketVersions"],
            resources=[sessions.bucket_arn],
            conditions={"StringLike": {"s3:prefix": ["sessions/*"]}},
        )
    )
    # The key only through S3, for this bucket (S3 Bucket Keys: the context is the bucket).
    found.append(
        iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[key.key_arn],
            conditions={
                "StringEquals": {
                    "kms:ViaService": Fn.sub("s3.${AWS::Region}.amazonaws.com"),
                    "kms:EncryptionContext:aws:s3:arn": sessions.bucket_arn,
                }
            },
        )
    )
    return found


class Workers(Construct):
    """Fargate tasks that run a worker host each (up to ``HOST_TENANTS`` tenants), and where
    their logins are kept."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tables: Tables,
        env: dict[str, str],
        portal_origin: str,
        proxy_secret_arn: str | None = None,
        wa_version: str | None = None,
        wa_versions: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        # The pictures and PDFs answers carry: the portal's page uploads them itself (a
        # presigned POST the API signs), the API checks them, the workers read them.
        self.media = s3.Bucket(
            self,
            "Media",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST],
                    allowed_origins=[portal_origin],
                    allowed_headers=["*"],
                    max_age=3000,
                )
            ],
        )
        self.sessions_key = kms.Key(
            self, "SessionsKey", enable_key_rotation=True, description="wafleet worker logins"
        )
        self.sessions = s3.Bucket(
            self,
            "Sessions",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.sessions_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
            # The newest archive and the two before it (login_store.KEPT); older ones go
            # after a week.
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(7),
                    noncurrent_versions_to_retain=KEPT - 1,
                )
            ],
        )
        self.vpc = ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=1)
        self.cluster = ecs.Cluster(self, "Cluster", vpc=self.vpc)
        # RunTask asks for FARGATE_SPOT and, when Spot has no capacity, FARGATE
        # (chalicelib/launch/ecs.py): the cluster offers both.
        self.cluster.enable_fargate_capacity_providers()
        self.security_group = ec2.SecurityGroup(
            self,
            "WorkerSG",
            vpc=self.vpc,
            allow_all_outbound=True,
            description="wafleet workers: outbound only",
        )
        self.task = ecs.FargateTaskDefinition(
            self, "Worker", cpu=HOST_CPU, memory_limit_mib=HOST_MEMORY_MIB
        )
        log_group = logs.LogGroup(
            self,
            "WorkerLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # The optional egress proxy's URL (it carries a password): injected by ECS from Secrets
        # Manager into WAFLEET_PROXY_URL, read by the task's execution role only.
        secrets = (
            {
                "WAFLEET_PROXY_URL": ecs.Secret.from_secrets_manager(
                    secretsmanager.Secret.from_secret_complete_arn(
                        self, "ProxyUrl", proxy_secret_arn
                    )
                )
            }
            if proxy_secret_arn
            else None
        )
        self.task.add_container(
            "worker",
            secrets=secrets,
            image=ecs.ContainerImage.from_asset(
                str(ROOT),
                file="worker_container/Dockerfile",
                exclude=ASSET_EXCLUDES,
                # The WhatsApp Web pages the image carries: the fleet's pin, and those a tenant
                # may be pinned to (a tenant pinned to another opens the live site).
                build_args={
                    "WA_VERSIONS": " ".join(sorted({*wa_versions, *filter(None, [wa_version])}))
                },
            ),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="worker", log_group=log_group),
            # Generated from the settings' one declaration (chalicelib/settings.py,
            # worker_container/config.py); a host task adds only its WAFLEET_HOST_ID.
            environment=env
            | env_for(Settings, host_tenants=HOST_TENANTS, media_bucket=self.media.bucket_name)
            | env_for(HostConfig, memory_mb=HOST_MEMORY_MIB)
            | env_for(
                WorkerConfig,
                session_bucket=self.sessions.bucket_name,
                session_kms_key=self.sessions_key.key_arn,
                wa_version=wa_version,
            ),
            stop_timeout=Duration.seconds(STOP_TIMEOUT_S),
        )
        for statement in worker_statements(tables, self.sessions, self.sessions_key, self.media):
            self.task.task_role.add_to_principal_policy(statement)

    def launcher_env(self) -> dict[str, str]:
        """What the API's ECS launcher needs to start a worker."""
        return env_for(
            Settings,
            launcher="ecs",
            ecs_cluster=self.cluster.cluster_arn,
            ecs_task_definition=self.task.task_definition_arn,
            ecs_container="worker",
            ecs_subnets=Fn.join(",", [s.subnet_id for s in self.vpc.private_subnets]),
            ecs_security_groups=self.security_group.security_group_id,
            host_tenants=HOST_TENANTS,
        )

    def grant_launch(self, role: iam.IRole, partition: str, region: str, account: str) -> None:
        """Let ``role`` run and stop worker tasks (and pass their roles), nothing else."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ecs:RunTask"],
                resources=[self.task.task_definition_arn],
                conditions={"ArnEquals": {"ecs:cluster": self.cluster.cluster_arn}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ecs:StopTask", "ecs:TagResource"],
                resources=[
                    f"arn:{partition}:ecs:{region}:{account}:task/{self.cluster.cluster_name}/*"
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[
                    self.task.task_role.role_arn,
                    self.task.obtain_execution_role().role_arn,
                ],
            )
        )
