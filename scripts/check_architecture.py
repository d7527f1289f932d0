#!/usr/bin/env python3
"""Check the dependency rules of docs/design.md by reading imports with ``ast``.

Fails (exit 1, one line per violation) on:

- an adapter (``providers``, ``conferencing_providers``) importing ``syncd``,
  ``sqlalchemy`` or ``sqlmodel``;
- ``syncd`` importing an adapter module other than the contracts (``providers.base``,
  ``providers.errors``, ``conferencing_providers.base``): adapters are found through
  entry points;
- ``syncd.availability`` importing ``syncd.store``, ``syncd.api`` or ``syncd.sync``;
- any import cycle between modules, imports under ``TYPE_CHECKING`` and inside
  functions included;
- ``select(`` or raw SQL (``text(``, ``.execute("…")``) under ``syncd/api/`` or
  ``syncd/web/`` (the pages call core functions, like the API);
- a module longer than ``MAX_MODULE_LINES`` (one sitting's reading).

Run it from anywhere: ``python scripts/check_architecture.py``.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("syncd", "providers", "conferencing_providers")
ADAPTER_PACKAGES = ("providers", "conferencing_providers")
ADAPTER_FORBIDDEN = ("syncd", "sqlalchemy", "sqlmodel")
# The modules of the adapter trees that syncd may import: the contracts and what they share.
ADAPTER_CONTRACT = (
    "providers",
    "providers.base",
    "providers.errors",
    "conferencing_providers",
    "conferencing_providers.base",
)
AVAILABILITY_FORBIDDEN = ("syncd.store", "syncd.api", "syncd.sync")
MAX_MODULE_LINES = 600
#: Layers that parse, call one core function and shape the answer: no SQL there.
NO_SQL_LAYERS = ("syncd.api", "syncd.web")
SQL_BUILDERS = {"select", "text", "insert", "update", "delete"}
RAW_SQL = re.compile(r"^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s)")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path) -> Iterator[Path]:
    for package in PACKAGES:
        base = root / package
        if base.is_dir():
            for path in sorted(base.rglob("*.py")):
                if "migrations" in path.parts:
                    continue
                yield path
    yield from sorted(root.glob("*.py"))


def imported_modules(path: Path, module: str) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports (absolute names), with line numbers."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = module.split(".")
                drop = node.level - (1 if is_package else 0)
                base_parts = base_parts[: len(base_parts) - drop] if drop else base_parts
                base = ".".join(base_parts)
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def resolve(name: str, modules: set[str]) -> str | None:
    """The project module an import name refers to (``a.b.func`` → ``a.b``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def check(root: Path = ROOT) -> list[str]:
    """Every breach of the rules in the tree at ``root``, one line each."""
    files = {module_name(p, root): p for p in source_files(root)}
    modules = set(files)
    problems: list[str] = []
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in files.items():
        rel = path.relative_to(root)
        length = len(path.read_text(encoding="utf-8").splitlines())
        if length > MAX_MODULE_LINES:
            problems.append(f"{rel}: {length} lines (more than {MAX_MODULE_LINES})")
        for lineno, target in imported_modules(path, module):
            where = f"{rel}:{lineno}"
            if within(module, ADAPTER_PACKAGES) and within(target, ADAPTER_FORBIDDEN):
                problems.append(f"{where}: adapter module {module} imports {target}")
            if (
                within(module, ("syncd",))
                and within(target, ADAPTER_PACKAGES)
                and resolve(target, modules) not in ADAPTER_CONTRACT
                and target not in ADAPTER_CONTRACT
            ):
                problems.append(f"{where}: {module} imports concrete adapter {target}")
            if within(module, ("syncd.availability",)) and within(target, AVAILABILITY_FORBIDDEN):
                problems.append(f"{where}: {module} (no I/O) imports {target}")
            resolved = resolve(target, modules)
            if resolved and resolved != module:
                # A package's __init__ importing its own submodules is not a cycle edge
                # worth reporting: it only re-exports.
                graph[module].add(resolved)
        if within(module, NO_SQL_LAYERS):
            problems.extend(
                f"{rel}:{line}: SQL in the {module.split('.')[1]} layer: {what}"
                for line, what in sql_uses(path)
            )
    for cycle in find_cycles(graph):
        problems.append("import cycle between modules: " + " <-> ".join(cycle))
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        edges = packages.setdefault(package_of(module), set())
        edges.update(package_of(t) for t in targets if package_of(t) != package_of(module))
    for cycle in find_cycles(packages):
        problems.append("import cycle between packages: " + " <-> ".join(cycle))
    return problems


def package_of(module: str) -> str:
    """The unit whose direction must be one-way: ``syncd.<sub>``, or an adapter tree."""
    parts = module.split(".")
    if parts[0] == "syncd":
        return ".".join(parts[:2])
    return parts[0]


def sql_uses(path: Path) -> Iterator[tuple[int, str]]:
    """Calls of SQL builders (``select(``, ``text(``, …) and string literals of raw SQL."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in SQL_BUILDERS and not isinstance(func, ast.Attribute):
                yield node.lineno, f"{name}("
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and RAW_SQL.match(node.value)
        ):
            yield node.lineno, repr(node.value[:40])


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} architecture violation(s)", file=sys.stderr)
        return 1
    print("architecture check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
