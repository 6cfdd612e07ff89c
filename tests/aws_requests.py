"""Read what a process asked of AWS from the moto server's recording (``MOTO_ENABLE_RECORDING``):
DynamoDB calls, each transaction split into its items, with the attribute names they name."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# Expressions name attributes through placeholders (#name); a path's first part is the
# attribute (#a.#b, #a[0]). Functions and keywords are not attributes.
_PLACEHOLDER = re.compile(r"(?<![.\w])#\w+")
_WORDS = {
    "SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "IN", "BETWEEN",
    "attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains",
    "size", "if_not_exists", "list_append",
}  # fmt: skip
_BARE = re.compile(r"(?<![#:.\w])[A-Za-z_]\w*")


@dataclass(frozen=True)
class Call:
    """One DynamoDB action on one table, as IAM sees it."""

    caller: str  # the access key id
    action: str  # IAM action: dynamodb:UpdateItem, …
    table: str
    index: str | None
    attributes: frozenset[str]  # top-level attribute names the request names
    return_values: str | None
    transaction: bool


def _names(part: dict, *expressions: str) -> set[str]:
    aliases = part.get("ExpressionAttributeNames", {})
    found: set[str] = set()
    for key in expressions:
        text = part.get(key)
        if not text:
            continue
        found |= {aliases[p] for p in _PLACEHOLDER.findall(text)}
        bare = {w for w in _BARE.findall(re.sub(r"#\w+|:\w+", " ", text)) if w not in _WORDS}
        found |= bare
    return found


def _attributes(part: dict) -> set[str]:
    names = set(part.get("Key", {})) | set(part.get("Item", {}))
    names |= set(part.get("AttributesToGet", []))
    return names | _names(
        part,
        "UpdateExpression",
        "ConditionExpression",
        "ProjectionExpression",
        "KeyConditionExpression",
        "FilterExpression",
    )


def _signer(headers: dict[str, str]) -> tuple[str, str]:
    """(access key id, service) from the SigV4 credential scope."""
    auth = headers.get("Authorization", "")
    match = re.search(r"Credential=([^/]+)/\d+/[^/]+/([^/]+)/", auth)
    return (match.group(1), match.group(2)) if match else ("", "")


def calls(recording: str) -> list[Call]:
    """Every DynamoDB call in a recording, a transaction's items one by one."""
    found: list[Call] = []
    for line in recording.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        headers = entry.get("headers", {})
        caller, service = _signer(headers)
        target = headers.get("X-Amz-Target", "")
        if service == "s3" and entry.get("method") == "GET":
            # A read of an object: the table field holds its bucket (path-style URLs).
            path = urlsplit(entry.get("url", "")).path.lstrip("/")
            bucket, _, key = path.partition("/")
            action = "s3:GetObject" if key else "s3:ListBucket"
            found.append(Call(caller, action, bucket, None, frozenset(), None, False))
            continue
        if not target.startswith("DynamoDB_"):
            # Anything else (SQS, SES, an S3 write, …): named by its service only.
            found.append(Call(caller, f"{service}:*", "", None, frozenset(), None, False))
            continue
        operation = target.split(".", 1)[1]
        raw = entry.get("body") or "{}"
        body = json.loads(base64.b64decode(raw) if entry.get("body_encoded") else raw)
        if operation in ("TransactWriteItems", "TransactGetItems"):
            for item in body["TransactItems"]:
                ((kind, part),) = item.items()
                action = {"ConditionCheck": "ConditionCheckItem"}.get(kind, f"{kind}Item")
                found.append(
                    Call(
                        caller,
                        f"dynamodb:{action}",
                        part["TableName"],
                        None,
                        frozenset(_attributes(part)),
                        None,
                        True,
                    )
                )
            continue
        if operation.startswith("Batch"):
            for table in body["RequestItems"]:
                found.append(
                    Call(caller, f"dynamodb:{operation}", table, None, frozenset(), None, False)
                )
            continue
        found.append(
            Call(
                caller,
                f"dynamodb:{operation}",
                body.get("TableName", ""),
                body.get("IndexName"),
                frozenset(_attributes(body)),
                body.get("ReturnValues"),
                False,
            )
        )
    return found


def refused_by_the_worker_role(found: list[Call], tables: dict[str, str]) -> list[Call]:
    """The calls the worker task role would refuse (``chalicelib/store/access.py``, which the
    template test holds the synthesized role to). ``tables``: table name -> settings field."""
    from chalicelib.store.access import (
        TENANT_WRITES,
        WORKER_MEDIA_ACTIONS,
        WORKER_TABLE_ACTIONS,
        WORKER_TENANT_ATTRIBUTES,
    )

    refused = []
    for call in found:
        service, _, action = call.action.partition(":")
        if call.action in WORKER_MEDIA_ACTIONS and tables.get(call.table) == "media_bucket":
            continue
        field = tables.get(call.table)
        if service != "dynamodb" or field not in WORKER_TABLE_ACTIONS:
            refused.append(call)
        elif action in WORKER_TABLE_ACTIONS[field] or (
            field == "tenants_table"
            and action in TENANT_WRITES
            and call.attributes <= WORKER_TENANT_ATTRIBUTES
        ):
            continue
        else:
            refused.append(call)
    return refused
