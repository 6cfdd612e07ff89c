"""A tenant's browser runs sandboxed: launched through the host's own engine factory
(``aws_wiring``) as an unprivileged user, as the worker image runs it, its renderers are under
seccomp-bpf in a PID namespace of their own. The negative control (the sandbox off, as a root run
has it) shows the test can fail."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from tests.processes import Sim, at_first_code
from worker_container.config import WorkerConfig, default_browser

pytestmark = [
    pytest.mark.process,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the browser as another user"),
]


def as_user(user: str, folder: Path) -> Path:
    """A Chromium that runs as ``user``: the image's ``USER`` line, for a test process that is
    root (Playwright starts it; it drops to the user before Chromium runs)."""
    wrapper = folder / "chromium-as-user"
    wrapper.write_text(f'#!/bin/sh\nexec runuser -u {user} -- {default_browser()} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found


def browser_pid(profile: Path) -> int:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"--user-data-dir={profile}".encode() in command and not any(
            part.startswith(b"--type=") for part in command
        ):
            return int(entry.name)
    raise AssertionError(f"no browser process on {profile}")


def renderers(profile: Path) -> list[dict[str, str]]:
    """Each renderer's seccomp mode, user and PID namespace, read from /proc."""
    found = []
    for pid in descendants(browser_pid(profile)):
        try:
            if b"--type=renderer" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            status = dict(
                line.split(":\t", 1)
                for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                if ":\t" in line
            )
            found.append(
                {
                    "seccomp": status["Seccomp"].strip(),
                    "uid": status["Uid"].split()[0],
                    "pid_ns": os.readlink(f"/proc/{pid}/ns/pid"),
                }
            )
        except OSError:
            continue
    return found


@pytest.mark.parametrize("sandbox", [True, False], ids=["image-user", "root-run-control"])
def test_a_tenants_browser_renders_under_seccomp_in_its_own_pid_namespace(
    sim: Sim, tmp_path: Path, sandbox: bool
) -> None:
    nobody = pwd.getpwnam("nobody")
    # Where the session makes its profile (tempfile.mkdtemp: 0700), owned by the browser's user.
    profile = Path(tempfile.mkdtemp(prefix="wafleet-sandbox-"))
    os.chown(profile, nobody.pw_uid, nobody.pw_gid)
    config = WorkerConfig(
        session_dir=tmp_path / "logins",
        whatsapp_url=sim.url,
        chromium=str(as_user("nobody", tmp_path)),
        sandbox=sandbox,
    )
    try:
        found = asyncio.run(at_first_code(config, profile, lambda: renderers(profile)))
        assert stat.S_IMODE(profile.stat().st_mode) == 0o700
    finally:
        shutil.rmtree(profile, ignore_errors=True)

    assert found, "the page rendered, so a renderer ran"
    assert {r["uid"] for r in found} == {str(nobody.pw_uid)}
    host_ns = os.readlink("/proc/self/ns/pid")
    if sandbox:
        assert {r["seccomp"] for r in found} == {"2"}, found  # seccomp-bpf filter
        assert all(r["pid_ns"] != host_ns for r in found), found
    else:
        assert {r["seccomp"] for r in found} == {"0"}, found
        assert all(r["pid_ns"] == host_ns for r in found), found
