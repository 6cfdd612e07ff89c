"""ECS runs the hosts: one Fargate task per host of several tenants (Fargate Spot first,
Fargate when Spot has no capacity)."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.launch.base import LaunchError
from chalicelib.settings import Settings

logger = logging.getLogger(__name__)

HOST_ENV = "WAFLEET_HOST_ID"  # what a host task is started with (worker_container.config)
SPOT = "FARGATE_SPOT"
ON_DEMAND = "FARGATE"


class EcsHosts:
    """A ``HostRunner``: RunTask / StopTask on the configured cluster and task definition."""

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

    def start_host(self, host_id: str) -> str:
        """Start a host task: on Fargate Spot, on Fargate when Spot has no capacity."""
        arn = self._run_task(
            {HOST_ENV: host_id},
            started_by=f"wafleet-host-{host_id}",
            tags={"wafleet:host": host_id},
        )
        logger.info("host launched", extra={"host_id": host_id})
        return arn

    def stop_host(self, ref: str, reason: str) -> None:
        """StopTask: the host gets SIGTERM and drains; ECS sends SIGKILL after the task's stop
        timeout."""
        try:
            self.client.stop_task(cluster=self._settings.ecs_cluster, task=ref, reason=reason[:255])
        except self.client.exceptions.InvalidParameterException:
            logger.info("stop: task already gone", extra={"task": ref})

    def _run_task(self, env: dict[str, str], *, started_by: str, tags: dict[str, str]) -> str:
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
        reasons: list[str] = []
        for provider in (SPOT, ON_DEMAND):
            strategy = [{"capacityProvider": provider, "weight": 1}]
            response = self.client.run_task(**request, capacityProviderStrategy=strategy)
            tasks = response.get("tasks") or []
            if tasks:
                arn: str = tasks[0]["taskArn"]
                return arn
            reasons = [f.get("reason", "?") for f in response.get("failures", [])]
            if not any("capacity" in r.lower() for r in reasons):
                break  # not a capacity shortage: on-demand would fail the same way
            logger.warning("no capacity", extra={"provider": provider})
        raise LaunchError(f"ECS did not start a task: {', '.join(reasons) or 'no reason'}")
