"""A pinned WhatsApp Web version, as ``@wppconnect/wa-version`` names its pages
("2.3000.1048032155-alpha"): fleet-wide (``WAFLEET_WA_VERSION``) or per tenant (the admin API).
The pages themselves are in the worker's image (``worker_container/wa_pages.py``); the API,
which has none of them, checks only the name, and the fleet view shows what a host served."""

from __future__ import annotations

import re

from chalicelib.domain.errors import ValidationError

VERSION = re.compile(r"[0-9]{1,4}\.[0-9]{1,6}\.[0-9]{1,12}(?:-(?:alpha|beta))?")
LIVE = "live"
"""What a session serves when nothing is pinned (or the pin cannot be served): the site."""


def check(version: object, field: str = "version") -> str:
    """``version`` if it is a WhatsApp Web version's name; else a ``ValidationError``."""
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        raise ValidationError(
            field,
            'must be a WhatsApp Web version, as wa-version names it: "2.3000.1048032155-alpha"',
        )
    return version
