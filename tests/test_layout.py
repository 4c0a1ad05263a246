"""The house rules of the package layout: no import loops, and the layers below the
coffea integration load neither coffea nor (for the models) uproot."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import evmult

ROOT = Path(evmult.__file__).resolve().parent


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Every evmult module -> the evmult modules it imports, function-level imports
    included (``from evmult.x import y`` counts as importing ``evmult.x.y`` where that is
    a module)."""
    files = [*ROOT.rglob("*.py"), *(ROOT / "processors").glob("*.py")]
    modules = {_module_of(p): p for p in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("evmult"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("evmult")}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
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


def test_no_module_imports_itself_in_a_loop() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph = _import_graph()
    assert "evmult.encoding" in graph["evmult.models.base"]  # the walk sees the imports
    assert "evmult.pipeline" in graph["evmult.output"]
    assert _cycles(graph) == []


def test_the_lower_layers_load_no_coffea() -> None:
    code = (
        "import sys, evmult.io.readers, evmult.io.csv, evmult.io.writers, evmult.encoding, "
        "evmult.models, evmult.generation; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'coffea', 'dask', 'uproot'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # uproot comes with the ROOT reader and writer, never with the models
    assert out.stdout.strip() == "['uproot']"
    models = "import sys, evmult.models; print('uproot' in sys.modules, 'coffea' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", models], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
