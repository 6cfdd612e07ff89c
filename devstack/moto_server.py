"""The local AWS: moto, with DynamoDB made as atomic as the real one.

Real DynamoDB applies each write (and each transaction) atomically; moto checks a condition
and then writes without a lock, so two threads can both pass the same condition. Serialising
moto's DynamoDB operations restores the guarantee wafleet's leases rely on.

A failed transaction is rolled back by putting a copy of each table it touched in its place;
the stream shard is made to survive that (``_keep_stream_shards``), or every stream reader of
the table would go deaf.

moto also keeps a reference to every model object it ever made (for its dashboard), and a
transaction deep-copies each table it touches to roll back on failure: without dropping those
references, every transaction on a 10,000-item table would leak 10,000 items.
"""

from __future__ import annotations

import argparse
import functools
import signal
import threading
from typing import Any

_LOCK = threading.RLock()
_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "transact_write_items",
    "transact_get_items",
    "batch_write_item",
    "batch_get_item",
)
_patched = False


def serialize_dynamodb() -> None:
    """Make moto's DynamoDB apply one operation at a time (idempotent)."""
    global _patched
    if _patched:
        return
    from moto.core.model_instances import reset_model_data
    from moto.dynamodb.models import DynamoDBBackend

    for name in _OPERATIONS:
        original = getattr(DynamoDBBackend, name)
        copies_tables = name == "transact_write_items"

        @functools.wraps(original)
        def locked(
            self: Any,
            *args: Any,
            _original: Any = original,
            _copies: bool = copies_tables,
            **kwargs: Any,
        ) -> Any:
            with _LOCK:
                shards = {n: t.stream_shard for n, t in self.tables.items()} if _copies else {}
                try:
                    return _original(self, *args, **kwargs)
                finally:
                    if _copies:
                        _keep_stream_shards(self, shards)
                        reset_model_data()  # forget the rollback copies (see module docstring)

        setattr(DynamoDBBackend, name, locked)
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    # Stream reads take the same lock: a transaction's partial writes are never read.
    original_get_records = DynamoDBStreamsBackend.get_records

    @functools.wraps(original_get_records)
    def get_records(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return original_get_records(self, *args, **kwargs)

    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]
    _patched = True


def _keep_stream_shards(backend: Any, shards: dict[str, Any]) -> None:
    """After a rolled-back transaction, each table keeps its stream shard object (a reader's
    shard iterator holds it) with the records of the rolled-back copy: none of the undone
    writes. moto puts a copy of the table, with a copy of the shard, in its place, and every
    iterator handed out before reads a shard nobody writes to any more."""
    for name, shard in shards.items():
        table = backend.tables.get(name)
        if shard is None or table is None or table.stream_shard is shard:
            continue
        shard.items = table.stream_shard.items
        shard.table = table
        table.stream_shard = shard


MAILBOX_PATH = "/_wafleet/ses/messages"


def with_mailbox(app: Any) -> Any:
    """moto's app plus ``GET /_wafleet/ses/messages``: the e-mails SES "sent" (make dev)."""
    import json

    def mailbox(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != MAILBOX_PATH:
            return app(environ, start_response)
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses import ses_backends

        rows = []
        for region, backend in ses_backends[DEFAULT_ACCOUNT_ID].items():
            for m in backend.sent_messages:
                rows.append(
                    {
                        "id": m.id,
                        "region": region,
                        "from": m.source,
                        "to": getattr(m, "destinations", {}).get("ToAddresses", []),
                        "subject": getattr(m, "subject", ""),
                        "body": getattr(m, "body", ""),
                    }
                )
        data = json.dumps(rows).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [data]

    return mailbox


def main() -> None:
    """Run a moto server on loopback (``python -m devstack.moto_server --port 0``)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    # A terminal's Ctrl-C reaches the whole process group, this server too; but the workers
    # still write their last state here while make dev stops them, and it saves the tables
    # from here after that. So only its parent ends it (SIGTERM, last), or its parent's end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serialize_dynamodb()
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    server = make_server(
        args.host,
        args.port,
        with_mailbox(DomainDispatcherApplication(create_backend_app)),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    # The parent reads this line to learn the port (``--port 0`` picks a free one).
    print(f"moto listening on http://{args.host}:{server.server_address[1]}", flush=True)
    watch_parent(server.shutdown)
    server.serve_forever()


def watch_parent(stop: Any) -> None:
    """Call ``stop`` once the process that started this one is gone (a ``make dev`` killed
    with -9 cannot stop its children)."""
    import os

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        stop()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    main()
