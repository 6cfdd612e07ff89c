"""``make wajs-upgrade V=x.y.z``: bump the pinned @wppconnect/wa-js, print what changed in the
declarations of the names the worker uses (``worker_container/wajs.py``), then run the
contract tests against the new bundle. The lockfile change is left for review; nothing is
committed."""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
from pathlib import Path

from worker_container.config import DEFAULT_BUNDLE
from worker_container.wajs import EVENTS, FUNCTIONS, MEMBERS

ROOT = Path(__file__).resolve().parents[1]
DIST = DEFAULT_BUNDLE.parents[1] / "dist"


def used_declarations(dist: Path) -> dict[str, str]:
    """The declaration file of each name the worker uses, by name ("(missing)" if none)."""
    files: dict[str, Path] = {}
    for name in FUNCTIONS:
        module, function = name.split(".")
        files[name] = _declaring(dist / module / "functions", function)
    for name in MEMBERS:
        _, owner, _member = name.split(".")
        files[name] = dist / "whatsapp" / "misc" / f"{owner}.d.ts"
    for module in sorted({name.split(".")[0] for name in EVENTS}):
        files[f"{module} events"] = dist / module / "events" / "eventTypes.d.ts"
    return {
        name: path.read_text(encoding="utf-8") if path.is_file() else "(missing)\n"
        for name, path in files.items()
    }


def _declaring(folder: Path, function: str) -> Path:
    """The file that declares ``function``: its own, or the one it shares (a lifecycle of
    several functions in one file)."""
    own = folder / f"{function}.d.ts"
    if own.is_file() or not folder.is_dir():
        return own
    pattern = re.compile(r"export declare function " + re.escape(function) + r"\b")
    for path in sorted(folder.glob("*.d.ts")):
        if path.name != "index.d.ts" and pattern.search(path.read_text(encoding="utf-8")):
            return path
    return own


def changes(before: dict[str, str], after: dict[str, str]) -> str:
    """A unified diff per name whose declaration changed (empty: none did)."""
    out = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, "(missing)\n"), after.get(name, "(missing)\n")
        if _code(old) != _code(new):
            out += difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                f"{name} (before)",
                f"{name} (after)",
            )
    return "".join(out)


def _code(text: str) -> str:
    """Declarations without comments and blank lines (a reworded comment is no change)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not re.fullmatch(r"\d+\.\d+\.\d+", argv[0]):
        print("usage: make wajs-upgrade V=x.y.z", file=sys.stderr)
        return 2
    before = used_declarations(DIST)
    subprocess.run(
        [
            "npm",
            "install",
            "--save-exact",
            "--no-audit",
            "--no-fund",
            f"@wppconnect/wa-js@{argv[0]}",
        ],
        cwd=ROOT,
        check=True,
    )
    diff = changes(before, used_declarations(DIST))
    print(diff or "No declaration the worker uses changed.")
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/contract"], cwd=ROOT)
    print("contract tests:", "passed" if tests.returncode == 0 else "FAILED")
    return tests.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
