"""The shape of the source tree: largest modules and functions, import cycles, and copies of ideas.

Usage: ``python bench/code_shape.py [SRC_ROOT] [--json OUT]`` (default ``src``). Prints a Markdown
summary; ``--json`` also writes the raw figures. Run it on two checkouts (before / after a
restructure) to compare. Everything is read with :mod:`ast` and regular expressions, nothing is
imported, so it works on any revision.

Copies of an idea are counted by a pattern per idea (a definition, not a use): see ``IDEAS``. A
count of 1 means the idea lives once; 0 means no definition matched the pattern (a rename).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys

PKG = "autobot_monitor"

#: idea -> regex matching one *definition* of it in a source line.
IDEAS: dict[str, str] = {
    "severity order (enum/rank/table)": r"^\s*(class Severity\b|def severity_rank\b|_?SEVERITY_(ORDER|RANK)\s*=|_?SEV_RANK\s*=|_?SEVERITIES\s*=)",
    "duration parser": r"^\s*def _?parse_duration\b",
    "time parser (API/CLI)": r"^\s*def _?parse_time\b",
    "label-name regex": r"\[a-zA-Z_\]\[a-zA-Z0-9_\]\*",
    "atomic file write (tmp + os.replace)": r"os\.replace\(",
    "NaN/Inf to JSON null": r"^\s*def _?(json_safe|nan_to_none|_?finite_or_none|clean_json|jsonable|finite)\b",
    "label matcher grammar (a parser, or a place reading the old `~re`/`!v` spelling)": r"^\s*def _?parse_matcher\b|startswith\(\(?\"~\"",
    "sample and series types": r"^\s*class (Sample|WriteSample|SeriesPoints|Series|Point)\b",
}


def modules(root: str) -> dict[str, str]:
    """``{dotted module name: path}`` for every ``.py`` under ``root/autobot_monitor``."""
    out: dict[str, str] = {}
    for dp, _, files in os.walk(os.path.join(root, PKG)):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dp, f)
                name = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
                out[name.removesuffix(".__init__")] = path
    return out


def import_graph(mods: dict[str, str]) -> dict[str, set[str]]:
    """Edges module -> imported package module, deferred (function-level) imports included."""
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        base = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = base.split(".")[: len(base.split(".")) - (node.level - 1)]
                    mod = ".".join(parts + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in mods else mod for a in node.names]
            for t in targets:
                while t and t not in mods and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in mods and t != name:
                    graph[name].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def sizes(mods: dict[str, str]) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(modules by line count, functions by line count), largest first."""
    mod_sizes, fn_sizes = [], []
    for name, path in mods.items():
        text = open(path, encoding="utf-8").read()
        mod_sizes.append((text.count("\n"), name))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                fn_sizes.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name}"))
    return sorted(mod_sizes, reverse=True), sorted(fn_sizes, reverse=True)


def idea_copies(mods: dict[str, str]) -> dict[str, list[str]]:
    """``{idea: ["module:line", ...]}`` for every line matching the idea's definition pattern."""
    found: dict[str, list[str]] = {k: [] for k in IDEAS}
    for name, path in mods.items():
        for i, line in enumerate(open(path, encoding="utf-8"), 1):
            for idea, pat in IDEAS.items():
                if re.search(pat, line):
                    found[idea].append(f"{name}:{i}")
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default="src")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    mods = modules(args.root)
    graph = import_graph(mods)
    cyc = cycles(graph)
    mod_sizes, fn_sizes = sizes(mods)
    ideas = idea_copies(mods)
    print(f"modules: {len(mods)}, lines: {sum(n for n, _ in mod_sizes)}")
    print(f"import cycles: {len(cyc)} (sizes {[len(c) for c in cyc]})")
    print(f"modules over 400 lines: {sum(n > 400 for n, _ in mod_sizes)}; functions over 60 lines: {sum(n > 60 for n, _ in fn_sizes)}")
    print("largest modules: " + ", ".join(f"{m} {n}" for n, m in mod_sizes[:10]))
    print("largest functions: " + ", ".join(f"{m} {n}" for n, m in fn_sizes[:10]))
    for idea, where in ideas.items():
        print(f"copies of {idea}: {len(where)}  {' '.join(where)}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"cycles": cyc, "modules": mod_sizes[:10], "functions": fn_sizes[:10],
                       "ideas": ideas}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
