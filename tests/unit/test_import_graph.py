"""chalicelib's and the worker's modules import one another without cycles (lazy imports
included), and the worker reaches DynamoDB and the control plane only through its ports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def graph() -> dict[str, set[str]]:
    sources = [*(ROOT / "chalicelib").rglob("*.py"), *(ROOT / "worker_container").rglob("*.py")]
    modules = {module_name(p): p for p in sources}
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            edges[name] |= {t for t in targets if t in modules and t != name}
    return edges


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_the_domain_imports_nothing_of_the_store_the_api_or_libraries() -> None:
    edges = graph()
    for name, targets in edges.items():
        if name.startswith("chalicelib.domain"):
            assert all(t.startswith("chalicelib.domain") for t in targets), (name, targets)
    for path in (ROOT / "chalicelib/domain").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for library in ("pynamodb", "chalice", "boto3", "botocore", "playwright"):
                assert library not in [n.split(".")[0] for n in names], (path, names)


def test_the_worker_reaches_the_store_and_the_control_plane_only_through_its_adapters() -> None:
    """``worker_container/dynamo.py`` implements the two ports; ``host.py`` wires them (and
    binds the store once at start). Nothing else of the worker knows DynamoDB, the control
    plane, placement or ECS."""
    edges = graph()
    outside = ("chalicelib.store", "chalicelib.control", "chalicelib.launch")
    reaching = {
        name: sorted(t for t in targets if t.startswith(outside))
        for name, targets in edges.items()
        if name.startswith("worker_container")
    }
    allowed = {"worker_container.dynamo", "worker_container.host"}
    assert {name for name, targets in reaching.items() if targets} <= allowed, reaching
    assert not any(
        t.startswith("chalicelib.launch.ecs") for t in reaching["worker_container.dynamo"]
    )


def test_test_fakes_live_under_tests() -> None:
    for path in [*(ROOT / "chalicelib").rglob("*.py"), *(ROOT / "worker_container").rglob("*.py")]:
        assert "class Memory" not in path.read_text(), path
