"""The shape of the code, read with `ast`: long UI modules, long functions, import cycles. Prints JSON.

    python benchmarks/code_shape.py

Limits: no module in app/ui/ over 400 lines, no function over 60 lines outside tests/, and no
cycle in the graph of imports between Parlour's own modules (imports inside functions count:
a lazy import hides a cycle from the interpreter, not from the reader).
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "engines", "resources")
CODE_FOLDERS = ("app", "engines", "benchmarks", "packaging", "resources")
UI_MODULE_LINES = 400
FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(folders: tuple[str, ...]) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py") if ".venv" not in p.parts)


def long_functions(tree: ast.AST, path: Path) -> list[dict[str, object]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > FUNCTION_LINES:
                where = str(path.relative_to(ROOT))
                found.append({"function": f"{where}:{node.lineno} {node.name}", "lines": length})
    return found


def imported_modules(tree: ast.AST, name: str, known: set[str], is_package: bool) -> set[str]:
    """Parlour's own modules this module imports, anywhere in it."""
    targets: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import module` depends on that module (and, as every import of a submodule,
            # on the package's __init__, which is implied and not an edge); other names are the package's.
            candidates = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for candidate in candidates:
            # `from engines.templates import render_chat` names the package, not a module in it.
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
    return targets


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def measure() -> dict[str, object]:
    trees = {path: ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in python_files(CODE_FOLDERS)}
    own = {path: module_name(path) for path in python_files(PACKAGES)}
    known = set(own.values())
    graph = {
        own[path]: imported_modules(trees[path], own[path], known, path.name == "__init__.py")
        for path in own
        if path in trees
    }
    ui_modules = sorted(
        ({"module": str(p.relative_to(ROOT)), "lines": n} for p in trees
         if p.is_relative_to(ROOT / "app" / "ui") and (n := len(p.read_text().splitlines())) > UI_MODULE_LINES),
        key=lambda item: -item["lines"],
    )  # fmt: skip
    functions = sorted(
        (found for path, tree in trees.items() for found in long_functions(tree, path)), key=lambda f: -f["lines"]
    )
    cycles = import_cycles(graph)
    return {
        "ui_modules_over_400_lines": ui_modules,
        "functions_over_60_lines": functions,
        "import_cycles": cycles,
        "modules": len(known),
        "ok": not (ui_modules or functions or cycles),
    }


def main() -> int:
    result = measure()
    print(json.dumps(result, indent=1))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
