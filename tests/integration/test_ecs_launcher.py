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
