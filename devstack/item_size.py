"""DynamoDB's billed size of an item, from its wire form (names + values, in bytes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """Size in bytes as DynamoDB bills it, for an item in wire form (``{"name": {"S": ...}}``)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return _number_size(raw)
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(_number_size(n) for n in raw)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def _number_size(raw: str) -> int:
    # Up to 38 significant digits; about one byte per two digits, plus one.
    digits = Decimal(raw).normalize().as_tuple().digits
    return (len(digits) + 1) // 2 + 1
