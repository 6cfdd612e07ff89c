"""Fault injection for worker processes under test (on PYTHONPATH only in the chaos suite).

WAFLEET_FAULT_UPDATES="throttle:0.5" | "error500:1.0": that share of DynamoDB UpdateItem calls
(heartbeats) fails with a throttling or a 5xx answer, before botocore's retries.
WAFLEET_FAULT_CLOCK_SKEW_S="-30": the process's wall clock is off by that many seconds.
"""

from __future__ import annotations

import os
import random
import time

_skew = float(os.environ.get("WAFLEET_FAULT_CLOCK_SKEW_S") or 0)
if _skew:
    _time_ns, _time = time.time_ns, time.time
    time.time_ns = lambda: _time_ns() + int(_skew * 1e9)  # type: ignore[assignment]
    time.time = lambda: _time() + _skew  # type: ignore[assignment]

_fault = os.environ.get("WAFLEET_FAULT_UPDATES")
if _fault:
    import botocore.session
    from botocore.awsrequest import AWSResponse

    kind, share = _fault.split(":")
    rate = float(share)
    status, body = (
        (
            400,
            b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
            b'"message":"Rate exceeded"}',
        )
        if kind == "throttle"
        else (
            500,
            b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError",'
            b'"message":"injected"}',
        )
    )

    class _Raw:
        def stream(self, **_: object):  # type: ignore[no-untyped-def]
            yield body

    def _inject(request: object = None, **_: object) -> AWSResponse | None:
        if random.random() < rate:
            return AWSResponse(
                "https://dynamodb", status, {"Content-Type": "application/x-amz-json-1.0"}, _Raw()
            )
        return None

    _create = botocore.session.Session.create_client

    def create_client(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        client = _create(self, *args, **kwargs)
        if client.meta.service_model.service_name == "dynamodb":
            client.meta.events.register("before-send.dynamodb.UpdateItem", _inject)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

# WAFLEET_FAULT_ARMED=<path>: writing "browser" or "upload" to that file arms a fault on the
# host's next login snapshot, which removes the file when it strikes:
# - browser: the host's Chromium is killed in the middle of archiving the login;
# - upload: the host is killed (SIGKILL) in the middle of storing it.
_armed = os.environ.get("WAFLEET_FAULT_ARMED")
if _armed:
    import signal
    import tarfile

    import psutil

    def _strike(kind: str) -> bool:
        try:
            with open(_armed) as handle:
                if handle.read().strip() != kind:
                    return False
            os.unlink(_armed)
        except FileNotFoundError:
            return False
        return True

    _addfile = tarfile.TarFile.addfile

    def addfile(self, tarinfo, fileobj=None):  # type: ignore[no-untyped-def]
        if _strike("browser"):
            for child in psutil.Process().children(recursive=True):
                if "chrom" in child.name().lower():
                    child.kill()
        return _addfile(self, tarinfo, fileobj)

    tarfile.TarFile.addfile = addfile  # type: ignore[method-assign]
    _replace = os.replace

    def replace(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The archive itself landing (a temp file renamed over it), not the rotation before.
        landing = os.path.basename(str(src)).startswith(".session-")
        if landing and str(dst).endswith(".tar.gz") and _strike("upload"):
            os.kill(os.getpid(), signal.SIGKILL)
        return _replace(src, dst, *args, **kwargs)

    os.replace = replace  # type: ignore[assignment]
