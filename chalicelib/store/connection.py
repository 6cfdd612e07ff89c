"""Error translation shared by the store modules."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib.store.models import shared_connection

CONDITION_FAILED = "ConditionalCheckFailedException"
# Inside a transaction, DynamoDB names the same failure without the suffix.
TX_CONDITION_FAILED = "ConditionalCheckFailed"


def connection() -> Connection:
    """The connection for transactions: the one the models share (one HTTP pool)."""
    return shared_connection()


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
