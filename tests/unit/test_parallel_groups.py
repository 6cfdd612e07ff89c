"""make test runs tests that share one costly fixture (the synthesized template, the portal's
make dev) on one xdist worker: ``--dist loadgroup`` and ``xdist_group`` marks. A pytest or
xdist upgrade that silently stops grouping (pytest-dev/pytest-xdist#1386) fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_tests_of_one_xdist_group_run_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(
        "import os, pytest\n"
        "pytestmark = pytest.mark.xdist_group('costly')\n"
        "@pytest.mark.parametrize('i', range(6))\n"
        "def test_one(i):\n"
        "    with open(os.path.join(os.path.dirname(__file__), f'ran-{i}'), 'w') as f:\n"
        "        f.write(os.environ['PYTEST_XDIST_WORKER'])\n"
    )
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "3", "--dist", "loadgroup", "-q", "-p",
         "no:cacheprovider", "--rootdir", str(tmp_path), "-c", "/dev/null", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-2000:]
    workers = {(tmp_path / f"ran-{i}").read_text() for i in range(6)}
    assert len(workers) == 1, workers
    assert "--dist loadgroup" in (ROOT / "Makefile").read_text()
