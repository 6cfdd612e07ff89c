"""ECS runs the hosts (against moto's ECS): a host task carries its host id and tag, and
starts on Fargate Spot, on Fargate when Spot has no capacity; an ECS "task stopped" event
moves a host's tenants."""

from __future__ import annotations

import dataclasses
from typing import Any

import boto3
import pytest

from chalicelib.launch.ecs import HOST_ENV, EcsHosts
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


def test_a_host_task_on_moto_carries_its_host_id_and_stops(ecs: tuple[Any, Settings]) -> None:
    client, settings = ecs
    runner = EcsHosts(settings, client=client)
    arn = runner.start_host("h_2")
    task = client.describe_tasks(cluster="wafleet-workers", tasks=[arn], include=["TAGS"])["tasks"][
        0
    ]
    assert {t["key"]: t["value"] for t in task.get("tags", [])} == {"wafleet:host": "h_2"}
    env = {e["name"]: e["value"] for e in task["overrides"]["containerOverrides"][0]["environment"]}
    assert env == {HOST_ENV: "h_2"}  # everything else is the task definition's: one runtime
    runner.stop_host(arn, "scale-in")
    stopped = client.describe_tasks(cluster="wafleet-workers", tasks=[arn])["tasks"][0]
    assert stopped["desiredStatus"] == "STOPPED"
    assert stopped["stoppedReason"] == "scale-in"
    runner.stop_host(arn, "again")  # a task already gone: no error


def test_a_stopped_event_of_a_task_that_is_not_a_host_is_ignored() -> None:
    from chalicelib.control.ecs_events import handle_task_stopped

    detail = {"overrides": {"containerOverrides": [{"environment": [{"name": "X", "value": "1"}]}]}}
    assert handle_task_stopped(detail).startswith("ignored")


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
    _, settings = ecs
    client = SpotShortage()
    arn = EcsHosts(settings, client=client).start_host("h_1")
    assert arn.endswith("/abc")
    providers = [c["capacityProviderStrategy"][0]["capacityProvider"] for c in client.calls]
    assert providers == ["FARGATE_SPOT", "FARGATE"]
    assert all("launchType" not in c for c in client.calls)  # not allowed with a strategy
    env = client.calls[-1]["overrides"]["containerOverrides"][0]["environment"]
    assert env == [{"name": HOST_ENV, "value": "h_1"}]
