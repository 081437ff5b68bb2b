"""The shape of the import graph of ``src/autobot_monitor``, read from the source (AST), not by
importing it: every ``import``/``from ... import`` anywhere in a file counts (function-level and
``TYPE_CHECKING`` imports included), relative imports are resolved, and ``from pkg import name``
points at the submodule ``pkg.name`` when there is one.

- no import cycles at all;
- the metric-spec leaves (``*/metrics.py``) and ``model.py`` are data at the bottom: the leaves
  import nothing from the package but ``model``; ``model`` nothing but ``errors`` (the one
  exceptions module, for ``MetricNameError``), and ``errors`` nothing at all;
- ``catalog`` gathers the leaves with top-level imports only.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = "autobot_monitor"
SRC = Path(__file__).resolve().parents[1] / "src"


def _modules() -> dict[str, tuple[Path, bool]]:
    """``{dotted module name: (file, is package __init__)}`` for every ``.py`` under the package."""
    out = {}
    for path in sorted((SRC / PKG).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts.pop()
        out[".".join(parts)] = (path, is_pkg)
    return out


MODULES = _modules()


def _owner(name: str) -> str:
    """The module that ``name`` lives in: ``name`` itself or its nearest enclosing module."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_pkg: bool) -> set[str]:
    """The package modules one import statement in ``module`` loads by name."""
    if isinstance(node, ast.Import):
        return {_owner(a.name) for a in node.names if a.name.split(".")[0] == PKG}
    if node.level:
        base = module.split(".") if is_pkg else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if source.split(".")[0] != PKG:
        return set()
    return {f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else _owner(source)
            for a in node.names}


def import_graph() -> dict[str, set[str]]:
    """``{module: modules it imports}`` over the whole package (self-imports dropped)."""
    graph = {}
    for module, (path, is_pkg) in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                deps |= _targets(node, module, is_pkg)
        deps.discard(module)
        graph[module] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_sees_deferred_relative_and_submodule_imports():
    graph = import_graph()
    assert f"{PKG}.catalog" in graph
    # a relative import of a leaf, resolved to the leaf module
    assert f"{PKG}.hub.metrics" in graph[f"{PKG}.hub.scrape"]
    # `from . import base, http` inside a package names submodules
    assert {f"{PKG}.checks.base", f"{PKG}.checks.http"} <= graph[f"{PKG}.checks.runner"]
    # a function-level import counts (the CLI loads the hub only when a command needs it)
    assert f"{PKG}.hub.service" in graph[f"{PKG}.hub_cli"]


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles (each line: the modules of one cycle):\n" + "\n".join(
        " ".join(c) for c in found)


def test_metric_leaves_and_model_are_at_the_bottom():
    graph = import_graph()
    leaves = sorted(m for m in graph if m.endswith(".metrics"))
    assert len(leaves) >= 7, leaves
    bad = {m: sorted(graph[m] - {f"{PKG}.model"}) for m in leaves}
    bad[f"{PKG}.model"] = sorted(graph[f"{PKG}.model"] - {f"{PKG}.errors"})
    bad[f"{PKG}.errors"] = sorted(graph[f"{PKG}.errors"])
    assert not {m: d for m, d in bad.items() if d}, bad


def test_catalog_imports_at_top_level_only():
    path = MODULES[f"{PKG}.catalog"][0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    nested = [n.lineno for n in ast.walk(tree)
              if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in top]
    assert not nested, f"catalog.py has function-level imports at lines {nested}"
