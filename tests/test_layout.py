"""The package layout: layers import only downwards, no import circles, and a project module
imported inside a function says why (start-up time) on its line."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

# Each layer may import the ones before it, never one after it.
LAYERS = ("base", "core", "io", "precompute", "live", "tools")
BASE = {"reactive", "reactive.params", "reactive.errors", "reactive.guard", "reactive.progress"}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in sorted([*ROOT.glob("reactive/**/*.py"), *ROOT.glob("precompute/**/*.py")]):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


def _layer(module: str) -> str:
    if module in BASE:
        return "base"
    return module.split(".")[1] if module.startswith("reactive.") else "precompute"


def _imports(modules: dict[str, Path]):
    """(module, imported project module, line, top level?, the source line) for every import."""
    for name, path in modules.items():
        source = path.read_text()
        lines = source.splitlines()
        tree = ast.parse(source)
        top = {id(node) for node in tree.body}
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(parent + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                if target in modules:
                    yield name, target, node.lineno, id(node) in top, lines[node.lineno - 1]


def test_layers_import_only_downwards():
    upward = [f"{m} -> {t}" for m, t, _, _, _ in _imports(_modules())
              if LAYERS.index(_layer(t)) > LAYERS.index(_layer(m))]
    assert not upward


def test_no_import_circles():
    modules = _modules()
    graph = {m: set() for m in modules}
    for m, t, _, top, _ in _imports(modules):
        if top and t != m:
            graph[m].add(t)
    seen, done, cycles = set(), set(), []

    def visit(node, path):
        seen.add(node)
        for nxt in graph[node]:
            if nxt in path:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in done:
                visit(nxt, path + [nxt])
        done.add(node)

    for m in graph:
        if m not in done:
            visit(m, [m])
    assert not cycles


def test_function_level_imports_say_why():
    hidden = [f"{m}:{line} {t}" for m, t, line, top, text in _imports(_modules())
              if not top and "PLC0415 -" not in text and "see the docstring" not in text]
    assert not hidden
