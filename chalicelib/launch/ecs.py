"""Fargate launcher: one ECS task per tenant (tagged with tenant and lease epoch), or per
host of several tenants (Fargate Spot first, Fargate when Spot has no capacity)."""

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
HOST_ENV = "WAFLEET_HOST_ID"
SPOT = "FARGATE_SPOT"
ON_DEMAND = "FARGATE"


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
        arn = self._run_task(
            {TENANT_ENV: lease.tenant_id, OWNER_ENV: lease.owner_id, EPOCH_ENV: str(lease.epoch)},
            started_by=f"wafleet-{lease.tenant_id}",
            tags={"wafleet:tenant": lease.tenant_id, "wafleet:epoch": str(lease.epoch)},
        )
        logger.info("launched", extra={"tenant_id": lease.tenant_id, "epoch": lease.epoch})
        return arn

    def start_host(self, host_id: str) -> str:
        """Start a host task: on Fargate Spot, on Fargate when Spot has no capacity."""
        arn = self._run_task(
            {HOST_ENV: host_id},
            started_by=f"wafleet-host-{host_id}",
            tags={"wafleet:host": host_id},
            spot=True,
        )
        logger.info("host launched", extra={"host_id": host_id})
        return arn

    def stop_host(self, ref: str, reason: str) -> None:
        """StopTask: the host gets SIGTERM and drains."""
        self.stop(ref, reason)

    def _run_task(
        self, env: dict[str, str], *, started_by: str, tags: dict[str, str], spot: bool = False
    ) -> str:
        s = self._settings
        request: dict[str, Any] = {
            "cluster": s.ecs_cluster,
            "taskDefinition": s.ecs_task_definition,
            "count": 1,
            "startedBy": started_by[:36],
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": list(s.ecs_subnets),
                    "securityGroups": list(s.ecs_security_groups),
                    "assignPublicIp": "DISABLED",
                }
            },
            "enableECSManagedTags": True,
            "propagateTags": "TASK_DEFINITION",
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
            "overrides": {
                "containerOverrides": [
                    {
                        "name": s.ecs_container,
                        "environment": [{"name": k, "value": v} for k, v in env.items()],
                    }
                ]
            },
        }
        attempts = [SPOT, ON_DEMAND] if spot else [None]
        reasons: list[str] = []
        for provider in attempts:
            placement = (
                {"capacityProviderStrategy": [{"capacityProvider": provider, "weight": 1}]}
                if provider
                else {"launchType": "FARGATE"}
            )
            response = self.client.run_task(**request, **placement)
            tasks = response.get("tasks") or []
            if tasks:
                arn: str = tasks[0]["taskArn"]
                return arn
            reasons = [f.get("reason", "?") for f in response.get("failures", [])]
            if not any("capacity" in r.lower() for r in reasons):
                break  # not a capacity shortage: on-demand would fail the same way
            logger.warning("no capacity", extra={"provider": provider})
        raise LaunchError(f"ECS did not start a task: {', '.join(reasons) or 'no reason'}")

    def stop(self, task_ref: str, reason: str) -> None:
        """StopTask; ECS sends SIGTERM, then SIGKILL after the task's stop timeout."""
        try:
            self.client.stop_task(
                cluster=self._settings.ecs_cluster, task=task_ref, reason=reason[:255]
            )
        except self.client.exceptions.InvalidParameterException:
            logger.info("stop: task already gone", extra={"task": task_ref})
