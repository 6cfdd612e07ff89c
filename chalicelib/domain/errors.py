"""Typed domain errors; mapped to HTTP status codes only at the API edge."""

from __future__ import annotations


class WafleetError(Exception):
    """Base of every error wafleet raises on purpose."""

    code = "error"


class IllegalTransitionError(WafleetError):
    """An event arrived in a state where the transition table does not allow it."""

    code = "illegal_transition"


class StaleOwnerError(WafleetError):
    """A worker write was refused: another worker (or the reaper) holds the tenant now."""

    code = "stale_owner"


class TenantPausedError(WafleetError):
    """The tenant paused its bot: no reply may be sent."""

    code = "tenant_paused"


class LeaseHeldError(WafleetError):
    """A launch was refused because a live worker already holds the tenant's lease."""

    code = "lease_held"


class ConcurrentUpdateError(WafleetError):
    """The state changed between read and conditional write; re-read and decide again."""

    code = "concurrent_update"


class NotFoundError(WafleetError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "not_found"


class DuplicateError(WafleetError):
    """The item exists already (for example an inbound message seen before)."""

    code = "duplicate"


class ValidationError(WafleetError):
    """Input failed validation; ``field`` names the offending field."""

    code = "validation_error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RateLimitedError(WafleetError):
    """Asked too often; ``retry_after_s`` says when it will be accepted again."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ConfigError(WafleetError):
    """A setting is missing or malformed; the message names the environment variable."""

    code = "config_error"
