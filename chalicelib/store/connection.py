"""Conditional writes and error translation shared by the store modules."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, PynamoDBException, TransactWriteError
from pynamodb.models import Model

from chalicelib.store.models import shared_connection

CONDITION_FAILED = "ConditionalCheckFailedException"
# Inside a transaction, DynamoDB names the same failure without the suffix.
TX_CONDITION_FAILED = "ConditionalCheckFailed"


def connection() -> Connection:
    """The connection for transactions: the one the models share (one HTTP pool)."""
    return shared_connection()


def put_new(item: Model) -> bool:
    """Save ``item`` unless an item with its key exists: one PutItem conditional on the key
    being absent. False when it exists (nothing written); other errors raise."""
    key = next(a for a in type(item).get_attributes().values() if a.is_hash_key)
    try:
        item.save(condition=key.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def condition_failed(exc: PynamoDBException) -> bool:
    """True when a write (or any part of a transaction) failed only on its condition."""
    if isinstance(exc, TransactWriteError):
        reasons = exc.cancellation_reasons or []
        return any(r is not None and r.code == TX_CONDITION_FAILED for r in reasons)
    return exc.cause_response_code == CONDITION_FAILED


def failed_parts(exc: TransactWriteError) -> list[int]:
    """Indexes of the transaction items whose condition failed.

    PynamoDB sends a transaction's items grouped as condition checks, deletes, puts, updates,
    whatever order they were added in; the indexes follow that order.
    """
    return [
        i
        for i, r in enumerate(exc.cancellation_reasons or [])
        if r is not None and r.code == TX_CONDITION_FAILED
    ]
