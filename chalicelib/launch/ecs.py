"""Fargate launcher: one ECS task per tenant, tagged with tenant and lease epoch."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.domain.values import Lease
from chalicelib.launch.base import LaunchError
from chalicelib.settings import Settings

logger = logging.getLogger(__name__)

TENANT_ENV = "WAFLEET_TENANT_ID"
OWNER_ENV = "WAFLEET_LEASE_OWNER"
EPOCH_ENV = "WAFLEET_LEASE_EPOCH"


class EcsLauncher:
    """RunTask / StopTask on the configured cluster and task definition."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self._settings = settings
        self._client = client

    @property
    def client(self) -> Any:
        """The ECS client, created on first use (keeps cold starts light)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "ecs",
                region_name=self._settings.region,
                config=Config(retries={"mode": "standard", "max_attempts": 5}),
            )
        return self._client

    def launch(self, lease: Lease) -> str:
        """Start a Fargate task whose environment carries the lease."""
        s = self._settings
        network: dict[str, Any] = {
            "awsvpcConfiguration": {
                "subnets": list(s.ecs_subnets),
                "securityGroups": list(s.ecs_security_groups),
                "assignPublicIp": "DISABLED",
            }
        }
        response = self.client.run_task(
            cluster=s.ecs_cluster,
            taskDefinition=s.ecs_task_definition,
            launchType="FARGATE",
            count=1,
            startedBy=f"wafleet-{lease.tenant_id}"[:36],
            networkConfiguration=network,
            enableECSManagedTags=True,
            propagateTags="TASK_DEFINITION",
            tags=[
                {"key": "wafleet:tenant", "value": lease.tenant_id},
                {"key": "wafleet:epoch", "value": str(lease.epoch)},
            ],
            overrides={
                "containerOverrides": [
                    {
                        "name": s.ecs_container,
                        "environment": [
                            {"name": TENANT_ENV, "value": lease.tenant_id},
                            {"name": OWNER_ENV, "value": lease.owner_id},
                            {"name": EPOCH_ENV, "value": str(lease.epoch)},
                        ],
                    }
                ]
            },
        )
        tasks = response.get("tasks") or []
        if not tasks:
            reasons = [f.get("reason", "?") for f in response.get("failures", [])]
            raise LaunchError(f"ECS did not start a task: {', '.join(reasons) or 'no reason'}")
        arn: str = tasks[0]["taskArn"]
        logger.info("launched", extra={"tenant_id": lease.tenant_id, "epoch": lease.epoch})
        return arn

    def stop(self, task_ref: str, reason: str) -> None:
        """StopTask; ECS sends SIGTERM, then SIGKILL after the task's stop timeout."""
        try:
            self.client.stop_task(
                cluster=self._settings.ecs_cluster, task=task_ref, reason=reason[:255]
            )
        except self.client.exceptions.InvalidParameterException:
            logger.info("stop: task already gone", extra={"task": task_ref})
