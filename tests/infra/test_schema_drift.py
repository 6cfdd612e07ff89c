"""The store runs against the tables infra/ creates: models and infrastructure cannot drift.

The synthesized DynamoDB tables are created through moto's CloudFormation, the models are
bound to their physical names, and the store's operations that touch every key and index run
against them. Breaking one table on purpose shows the check fails.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.domain.statuses import SetupStatus, TemplateType
from chalicelib.domain.transitions import Actor, Event
from chalicelib.settings import Settings
from chalicelib.store import (
    history,
    hosts,
    messages,
    models,
    portal_events,
    setup_requests,
    tenants,
)
from chalicelib.store import users as user_store
from tests.conftest import new_number
from tests.infra.conftest import resources

pytestmark = pytest.mark.xdist_group("cdk")  # the synthesized template's worker

SETTING_OF = {
    "Tenants": "tenants_table",
    "History": "history_table",
    "Messages": "messages_table",
    "SetupRequests": "setup_table",
    "PortalEvents": "events_table",
    "Users": "users_table",
    "Hooks": "hooks_table",
    "Hosts": "hosts_table",
}


def tables_only(template: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": copy.deepcopy(resources(template, "AWS::DynamoDB::Table"))}


@pytest.fixture
def deploy(aws: Settings) -> Iterator[Any]:
    """Create a template's tables on moto's CloudFormation; yield settings bound to them."""
    cloudformation = boto3.client("cloudformation", region_name=aws.region)

    def create(document: dict[str, Any]) -> Settings:
        name = "wafleet-" + uuid.uuid4().hex[:8]
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(document))
        physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
        }
        names = {}
        for logical, table in physical.items():
            prefix = next(p for p in SETTING_OF if logical.startswith(p))
            names[SETTING_OF[prefix]] = table
        settings = dataclasses.replace(aws, **names)
        models.bind(settings)
        return settings

    yield create
    models.bind(aws)


def exercise_the_store() -> None:
    """Every table, key and index the models declare, used the way the product uses them."""
    now = 1_700_000_000_000
    tid = tenants.create_tenant("Drift Diner", now_ms=now).tenant_id
    request = setup_requests.submit(
        tid,
        "u1",
        template=TemplateType.SHOP,
        whatsapp_number=new_number(),
        business_name=None,
        notes=None,
        now_ms=now,
    )
    assert request.request_id in [
        r.request_id for r in setup_requests.list_by_status(SetupStatus.PENDING)
    ]
    setup_requests.decide(request.request_id, approve=True, admin_id="a", now_ms=now)
    lease = tenants.acquire_lease(tid, now_ms=now, stale_after_ms=1000)
    tenants.apply_event(tid, Event.READY, Actor.WORKER, now_ms=now, lease=lease)
    tenants.heartbeat(lease, now_ms=now + 1, connected=True)
    assert [h.event for h in history.list_history(tid, limit=10).items] == ["ready", "launched"]
    assert messages.record_inbound(
        tid, "m1", from_number="+1555", to_number=None, text="hi", at_ms=now
    )
    assert not messages.record_inbound(
        tid, "m1", from_number="+1555", to_number=None, text="hi", at_ms=now
    )
    assert messages.claim_reply(
        lease, "m1", reply_id="r1", to_number="+1555", from_number=None, text="hello", at_ms=now + 1
    )
    assert len(messages.list_messages(tid, limit=10).items) == 2
    user = user_store.add_user(f"{tid}@drift.example", role="tenant", tenant_id=tid, now_ms=now)
    assert user_store.find_by_email(user.email) is not None
    portal_events.record(tid, user.user_id, "drift.check", now_ms=now)
    # The setup request's audit entry came with it, in the same transaction.
    kinds = sorted(e.event_type for e in portal_events.list_events(tid))
    assert kinds == ["drift.check", "setup_request.submitted"]
    host = hosts.new_host(capacity=2, now_ms=now).host_id
    hosts.place(host, lease, now_ms=now)
    hosts.heartbeat(
        host, now_ms=now, capacity=2, pss_mb=1, limit_mb=2, tenant_mb={tid: 1.0}, first=True
    )
    assert [p.lease for p in hosts.placements(host)[1]] == [lease]
    assert (host, [tid]) in [(h.host_id, t) for h, t in hosts.fleet()]
    assert hosts.release(host, tid, epoch=lease.epoch)


def test_the_store_works_on_the_tables_infra_creates(template: dict[str, Any], deploy: Any) -> None:
    deploy(tables_only(template))
    exercise_the_store()


def test_a_table_that_disagrees_with_its_model_is_caught(
    template: dict[str, Any], deploy: Any
) -> None:
    broken = tables_only(template)
    (messages_table,) = [t for k, t in broken["Resources"].items() if k.startswith("Messages")]
    del messages_table["Properties"]["LocalSecondaryIndexes"]  # the logs page's index
    deploy(broken)
    with pytest.raises(Exception, match=r"(?i)index"):
        exercise_the_store()
