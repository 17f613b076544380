"""The plugin's shape, read from its own imports: each package imports only from the packages
below it, no modules import each other in a circle, and `bootstrap/` (run by `./pants`
before Pants exists) imports nothing but the standard library, pip's configuration and its
own modules.

The layers, top to bottom, are those of `docs/architecture.md`.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "build_defs"
LAYERS = (
    "register",
    "goals",
    "evidence",
    "wheels",
    "toolchains",
    "inputs",
    "platforms",
    "bootstrap",
)


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from build_defs.platforms import linux` imports a module, not a name.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def plugin_graph(root: Path = PLUGIN) -> dict[str, set[str]]:
    """Module -> the plugin modules it imports (files under `root` only)."""
    files = {_module(p): p for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts}
    files.pop("build_defs", None)  # the package's empty __init__.py
    return {m: {i for i in _imports(p) if i in files and i != m} for m, p in files.items()}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    rank = {name: i for i, name in enumerate(LAYERS)}
    bad = []
    for module, imported in sorted(graph.items()):
        if _layer(module) not in rank:
            bad.append(
                f"{module} is in no layer: add its package to LAYERS and docs/architecture.md"
            )
            continue
        for other in sorted(imported):
            if rank.get(_layer(other), -1) < rank[_layer(module)]:
                bad.append(
                    f"{module} imports {other}, a higher layer ({_layer(other)} above {_layer(module)})"
                )
    return bad


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_runs_up_the_layers() -> None:
    assert upward_imports(plugin_graph()) == []


def test_no_import_circles() -> None:
    assert circles(plugin_graph()) == []


def test_bootstrap_is_standard_library_only() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    own = {p.stem for p in (PLUGIN / "bootstrap").glob("*.py")}
    foreign = []
    for path in sorted((PLUGIN / "bootstrap").glob("*.py")):
        for name in sorted(_imports(path)):
            top = name.split(".")[0]
            # pip is read, lazily, for the index the user configured (pip's own configuration):
            # it comes with every CPython (ensurepip), like the standard library.
            if top in own or top in ("__future__", "pip") or top in sys.builtin_module_names:
                continue
            spec = importlib.util.find_spec(top)
            origin = (
                Path(spec.origin).resolve()
                if spec and spec.origin not in (None, "built-in", "frozen")
                else None
            )
            if (
                spec is None
                or (origin and stdlib not in origin.parents)
                or "site-packages" in str(origin)
            ):
                foreign.append(f"{path.name} imports {name}")
    assert foreign == []


def test_the_checks_see_an_upward_import_and_a_circle(tmp_path: Path) -> None:
    """The checks themselves can fail: a plugin with `inputs` importing `goals`, and two
    `platforms` modules importing each other."""
    plugin = tmp_path / "build_defs"
    for package in ("goals", "inputs", "platforms"):
        (plugin / package).mkdir(parents=True)
    (plugin / "goals" / "package_wheel.py").write_text("x = 1\n")
    (plugin / "inputs" / "store_artifact.py").write_text(
        "from build_defs.goals.package_wheel import x\n"
    )
    (plugin / "platforms" / "a.py").write_text("def f():\n    from build_defs.platforms import b\n")
    (plugin / "platforms" / "b.py").write_text("import build_defs.platforms.a\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        graph = plugin_graph(plugin)
    finally:
        ROOT = saved
    assert upward_imports(graph) == [
        "build_defs.inputs.store_artifact imports build_defs.goals.package_wheel, a higher layer (goals above inputs)"
    ]
    assert circles(graph) == [["build_defs.platforms.a", "build_defs.platforms.b"]]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
