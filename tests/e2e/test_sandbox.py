"""The worker image runs Chromium unprivileged with its sandbox on: prove the sandbox starts."""

from __future__ import annotations

import os
import subprocess

import pytest

from worker_container.config import BASE_CHROMIUM_ARGS, default_browser, sandbox_args

pytestmark = pytest.mark.process


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to an unprivileged user")
def test_chromium_renders_a_page_sandboxed_as_an_unprivileged_user() -> None:
    profile = f"/tmp/wafleet-sandbox-{os.getpid()}"
    args = [a for a in BASE_CHROMIUM_ARGS if a != "--no-sandbox"] + sandbox_args(euid=10001)
    assert "--no-sandbox" not in args
    result = subprocess.run(
        [
            "runuser",
            "-u",
            "nobody",
            "--",
            default_browser(),
            "--headless",
            *args,
            f"--user-data-dir={profile}",
            "--dump-dom",
            "data:text/html,<p>sandboxed</p>",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<p>sandboxed</p>" in result.stdout
    assert "No usable sandbox" not in result.stderr
    subprocess.run(["rm", "-rf", profile], check=False)
