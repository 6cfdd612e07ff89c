"""The owner's replies, versioned: the current one on the tenant item (the worker reads it
with the item), the last ``KEPT`` versions beside it, both written in one transaction that
holds only if nobody saved in between (a stale editor gets a conflict, never a lost save)."""

from __future__ import annotations

import json
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import ConcurrentUpdateError, NotFoundError
from chalicelib.store.connection import condition_failed, connection
from chalicelib.store.models import RulesModel, TenantModel

KEPT = 20


def _key(tenant_id: str) -> str:
    return "rules#" + tenant_id


def versions(tenant_id: str) -> tuple[int, list[dict[str, Any]]]:
    """The current version number and the kept versions, newest last."""
    try:
        item = RulesModel.get(_key(tenant_id), consistent_read=True)
    except RulesModel.DoesNotExist:
        return 0, []
    return int(item.version), list(json.loads(item.versions))


def save(tenant_id: str, rules: dict[str, Any], *, base: int, user_id: str, now_ms: int) -> int:
    """Save ``rules`` (already validated) as the version after ``base``; returns it."""
    current, kept = versions(tenant_id)
    if current != base:
        raise ConcurrentUpdateError(
            f"the replies were saved meanwhile (version {current}); reload them"
        )
    version = base + 1
    kept = [*kept, {"version": version, "at": now_ms, "by": user_id, "rules": rules}][-KEPT:]
    item = RulesModel(_key(tenant_id), version=version, versions=json.dumps(kept))
    held = RulesModel.version.does_not_exist() if base == 0 else RulesModel.version == base
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(item, condition=held)
            tx.update(
                TenantModel(tenant_id),
                actions=[
                    TenantModel.rules.set(json.dumps(rules)),
                    TenantModel.rules_version.set(version),
                    TenantModel.updated_at.set(now_ms),
                ],
                condition=TenantModel.tenant_id.exists(),
            )
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise ConcurrentUpdateError("the replies were saved meanwhile; reload them") from exc
        raise
    return version


def saved(tenant_id: str, version: int) -> tuple[int, dict[str, Any]]:
    """The current version number, and the rules of a kept ``version`` (one read)."""
    current, kept = versions(tenant_id)
    for entry in kept:
        if entry["version"] == version:
            return current, dict(entry["rules"])
    raise NotFoundError(f"version {version} is not kept (the last {KEPT} are)")
