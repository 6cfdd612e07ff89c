"""Input rules shared by the API and the CLI; each failure names its field."""

from __future__ import annotations

import re

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.statuses import TemplateType

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")


def ascii_int(text: str, *, digits: int) -> int | None:
    """The number ``text`` spells in at most ``digits`` ASCII digits, else None (``isdigit``
    and ``int`` also take "²", "١٢" or "1_000", and ``int`` refuses 4,301 digits)."""
    if not re.fullmatch(rf"[0-9]{{1,{digits}}}", text):
        return None
    return int(text)


def whatsapp_number(value: object, field: str = "whatsappNumber") -> str:
    """An E.164 phone number such as +4915112345678 (spaces and dashes are dropped)."""
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string like +4915112345678")
    cleaned = re.sub(r"[\s\-()]", "", value)
    if not _E164.match(cleaned):
        raise ValidationError(field, "must be an international number like +4915112345678")
    return cleaned


def template_type(value: object, field: str = "templateType") -> TemplateType:
    """One of the reply templates wafleet offers."""
    try:
        return TemplateType(str(value).upper())
    except ValueError:
        allowed = ", ".join(t.value for t in TemplateType)
        raise ValidationError(field, f"must be one of {allowed}") from None


def text(value: object, field: str, *, max_len: int, required: bool = False) -> str | None:
    """Free text up to ``max_len`` characters, stripped; ``None`` if absent and optional."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(field, "is required")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    value = value.strip()
    if len(value) > max_len:
        raise ValidationError(field, f"must be at most {max_len} characters")
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise ValidationError(field, "must not contain control characters")
    if any("\ud800" <= c <= "\udfff" for c in value):  # lone surrogates: not storable text
        raise ValidationError(field, "must be valid Unicode text")
    return value


def email(value: object, field: str = "email") -> str:
    """A plausible e-mail address, lower-cased."""
    if not isinstance(value, str) or not _EMAIL.match(value.strip()):
        raise ValidationError(field, "must be an e-mail address")
    return value.strip().lower()


def mask_number(number: str | None) -> str | None:
    """+4915112345678 -> +49•••••••5678: enough to recognise, not enough to harvest."""
    if not number:
        return number
    keep_head = 3 if number.startswith("+") else 2
    if len(number) <= keep_head + 4:
        return number[:keep_head] + "•" * max(len(number) - keep_head, 0)
    return number[:keep_head] + "•" * (len(number) - keep_head - 4) + number[-4:]


MAX_URL = 2048


def webhook_url(value: object, *, local: tuple[str, ...] = (), field: str = "url") -> str:
    """An endpoint a webhook may be sent to: HTTPS, a host, no credentials in it, and no
    address of our own network in any spelling (checked again after DNS at every delivery).
    ``local``: origins of make dev's own loopback receivers, the only exceptions."""
    from urllib.parse import urlsplit

    from chalicelib.domain import addresses

    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "an https:// URL is required")
    url = value.strip()
    if len(url) > MAX_URL:
        raise ValidationError(field, f"at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(field, "not a valid URL") from None
    if not parts.hostname or parts.username or parts.password:
        raise ValidationError(field, "needs a host name and no user name or password")
    if port == 0:
        raise ValidationError(field, "port 0 is not valid")
    if parts.scheme in ("http", "https") and addresses.origin(url) in local:
        return url
    if parts.scheme != "https":
        raise ValidationError(field, "must start with https://")
    if not addresses.public_host(parts.hostname):
        raise ValidationError(field, "must be a public address")
    return url
