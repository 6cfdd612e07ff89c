"""What ships to Lambda: pinned like the lock file, and free of Playwright and moto."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("playwright", "moto", "devstack", "worker_container", "pytest")


def _locked() -> dict[str, str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {p["name"]: p.get("version", "") for p in lock["package"]}


def test_lambda_requirements_match_the_lock_file() -> None:
    locked = _locked()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, version = line.split("==")
        assert locked.get(name.lower()) == version, f"{name}: lock has {locked.get(name.lower())}"


def test_lambda_code_imports_no_playwright_moto_or_dev_code() -> None:
    files = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    offenders = []
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_no_build_output_or_installed_packages_are_tracked() -> None:
    import subprocess

    root = Path(__file__).resolve().parents[2]
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    generated = ("chalice.out/", "cdk.out/", "node_modules/", ".venv/", "__pycache__/")
    assert [p for p in tracked if any(g in p for g in generated)] == []
