"""``make dev`` keeps its data: the tables and the simulated WhatsApp (linked devices, chats)
are written to the stack's folder every few seconds and when it stops, and read back when it
starts. Crude on purpose (a whole-table Scan): it is a development stack with a few tenants.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import boto3

from devstack.console import say

TABLES_FILE = "tables.json"
SIMULATOR_FILE = "simulator.json"


def _write(path: Path, value: Any) -> None:
    """Write JSON atomically (a crash mid-write leaves the previous snapshot), readable by
    its owner only from the moment it exists: it holds message text and webhook secrets."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    tmp = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # left by a crash, perhaps with an older mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(value))
    os.replace(tmp, path)


def _client(endpoint: str, region: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)


def save_tables(endpoint: str, region: str, tables: list[str], path: Path) -> int:
    """Every item of ``tables`` into ``path``; returns how many."""
    client = _client(endpoint, region)
    dump: dict[str, list[dict[str, Any]]] = {}
    for table in tables:
        items: list[dict[str, Any]] = []
        for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            items += page["Items"]
        dump[table] = items
    _write(path, dump)
    return sum(len(items) for items in dump.values())


def restore_tables(endpoint: str, region: str, path: Path) -> int:
    """Put back what ``save_tables`` wrote (into existing tables); returns how many items."""
    if not path.is_file():
        return 0
    client = _client(endpoint, region)
    dump: dict[str, list[dict[str, Any]]] = json.loads(path.read_text())
    count = 0
    for table, items in dump.items():
        for start in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            request: dict[str, Any] = {table: batch}
            while request:
                request = client.batch_write_item(RequestItems=request).get("UnprocessedItems")
            count += len(batch)
    return count


class Keeper:
    """Saves the tables and the simulator every ``every_s`` seconds and once more at the end."""

    def __init__(self, folder: Path, save_tables: Any, simulator: Any, every_s: float = 5.0):
        self.folder = folder
        self._save_tables = save_tables
        self.simulator = simulator
        self.every_s = every_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="snapshot", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def save(self) -> None:
        with self._lock:
            self._save_tables(self.folder / TABLES_FILE)
            _write(self.folder / SIMULATOR_FILE, self.simulator.snapshot())

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.save()
            except Exception as exc:  # keep going: the next round may work
                say(f"snapshot: {type(exc).__name__}")

    def stop(self) -> None:
        """Stop the loop and write a last snapshot."""
        self._stop.set()
        self._thread.join(timeout=30)
        self.save()


def load_simulator(simulator: Any, folder: Path) -> bool:
    """Give ``simulator`` back its devices and phones; False if there was nothing saved."""
    path = folder / SIMULATOR_FILE
    if not path.is_file():
        return False
    simulator.restore(json.loads(path.read_text()))
    return True
