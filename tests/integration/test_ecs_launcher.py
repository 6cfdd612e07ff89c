"""The Fargate launcher against moto's ECS: the task carries the lease and its tags."""

from __future__ import annotations

import dataclasses
from typing import Any

import boto3
import pytest

from chalicelib.domain.values import Lease
from chalicelib.launch.ecs import EPOCH_ENV, OWNER_ENV, TENANT_ENV, EcsLauncher
from chalicelib.settings import Settings


@pytest.fixture
def ecs(aws: Settings) -> tuple[Any, Settings]:
    ec2 = boto3.client("ec2", region_name=aws.region)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="w", Description="w", VpcId=vpc)["GroupId"]
    client = boto3.client("ecs", region_name=aws.region)
    client.create_cluster(clusterName="wafleet-workers")
    client.register_task_definition(
        family="wafleet-worker",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="512",
        memory="1024",
        containerDefinitions=[{"name": "worker", "image": "wafleet-worker:latest", "memory": 1024}],
    )
    settings = dataclasses.replace(
        aws,
        launcher="ecs",
        ecs_cluster="wafleet-workers",
        ecs_task_definition="wafleet-worker",
        ecs_subnets=(subnet,),
        ecs_security_groups=(group,),
    )
    return client, settings


def test_run_task_is_tagged_with_tenant_and_epoch_and_carries_the_lease(
    ecs: tuple[Any, Settings],
) -> None:
    client, settings = ecs
    launcher = EcsLauncher(settings, client=client)
    lease = Lease("t_abc", "owner-123", 7)
    arn = launcher.launch(lease)
    task = client.describe_tasks(cluster="wafleet-workers", tasks=[arn], include=["TAGS"])["tasks"][
        0
    ]
    tags = {t["key"]: t["value"] for t in task.get("tags", [])}
    assert tags == {"wafleet:tenant": "t_abc", "wafleet:epoch": "7"}
    env = {e["name"]: e["value"] for e in task["overrides"]["containerOverrides"][0]["environment"]}
    assert env == {TENANT_ENV: "t_abc", OWNER_ENV: "owner-123", EPOCH_ENV: "7"}
    launcher.stop(arn, "stopped by operator")
    stopped = client.describe_tasks(cluster="wafleet-workers", tasks=[arn])["tasks"][0]
    assert stopped["desiredStatus"] == "STOPPED"
    assert stopped["stoppedReason"] == "stopped by operator"


class SpotShortage:
    """An ECS client whose Spot capacity has run out."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def run_task(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        strategy = request.get("capacityProviderStrategy") or [{}]
        if strategy[0].get("capacityProvider") == "FARGATE_SPOT":
            return {"tasks": [], "failures": [{"reason": "Capacity is unavailable at this time."}]}
        return {"tasks": [{"taskArn": "arn:aws:ecs:us-east-1:1:task/c/abc"}], "failures": []}


def test_a_host_starts_on_spot_and_falls_back_to_on_demand_when_spot_has_no_capacity(
    ecs: tuple[Any, Settings],
) -> None:
    from chalicelib.launch.ecs import HOST_ENV

    _, settings = ecs
    client = SpotShortage()
    arn = EcsLauncher(settings, client=client).start_host("h_1")
    assert arn.endswith("/abc")
    providers = [c["capacityProviderStrategy"][0]["capacityProvider"] for c in client.calls]
    assert providers == ["FARGATE_SPOT", "FARGATE"]
    assert all("launchType" not in c for c in client.calls)  # not allowed with a strategy
    env = client.calls[-1]["overrides"]["containerOverrides"][0]["environment"]
    assert env == [{"name": HOST_ENV, "value": "h_1"}]


def test_a_host_task_on_moto_carries_its_host_id(ecs: tuple[Any, Settings]) -> None:
    client, settings = ecs
    arn = EcsLauncher(settings, client=client).start_host("h_2")
    task = client.describe_tasks(cluster="wafleet-workers", tasks=[arn], include=["TAGS"])["tasks"][
        0
    ]
    assert {t["key"]: t["value"] for t in task.get("tags", [])} == {"wafleet:host": "h_2"}
