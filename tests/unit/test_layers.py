"""The package's layers point down: no import cycles, and no service imports the Engine facade.

The import graph is read from the source with :mod:`ast` (nothing is imported): an edge for each
module-level import, leaving out imports under ``if TYPE_CHECKING:`` and inside functions, which
run later and cannot make an import cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import shopfuse

PACKAGE = "shopfuse"
ROOT = Path(shopfuse.__file__).resolve().parent
FACADE = "shopfuse.engine"
SERVICES = (
    "tasks",
    "model",
    "recommend",
    "store",
    "encoders",
    "alignment",
    "fusion",
    "query",
    "catalog",
    "media",
    "content",
    "creative",
    "evaluation",
    "distributed",
)
"""The subpackages below the Engine facade: none of them may import it, even lazily."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]
) -> Iterator[str]:
    """The shopfuse modules an import statement loads (``from pkg import sub`` loads ``pkg.sub``)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    submodules = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules]
    if len(submodules) < len(node.names):  # a name defined by the package itself, not a submodule
        yield target
    yield from submodules


def walk_imports(tree: ast.Module, *, module_level: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements; with ``module_level`` only those that run when the module is imported."""

    def visit(nodes: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                yield node
            elif isinstance(node, ast.If):
                if not (module_level and is_type_checking(node.test)):
                    yield from visit(node.body)
                yield from visit(node.orelse)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if not module_level or isinstance(node, ast.ClassDef):
                    yield from visit(node.body)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody):
                    yield from visit(block)
                for handler in node.handlers:
                    yield from visit(handler.body)
            elif isinstance(node, ast.With | ast.For | ast.While):
                yield from visit(node.body)

    if module_level:
        yield from visit(tree.body)
    else:
        yield from (n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom))


def import_graph(*, module_level: bool) -> dict[str, set[str]]:
    """Each shopfuse module and the shopfuse modules it imports.

    Importing ``a.b.c`` loads the package ``a.b`` (its ``__init__``) too, so that is an edge as
    well, except from a module inside ``a.b``: the package is already being imported then.
    """
    modules = all_modules()
    names = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in walk_imports(tree, module_level=module_level):
            for target in imported(node, name, path.name == "__init__.py", names):
                parts = target.split(".")
                for i in range(1, len(parts) + 1):
                    prefix = ".".join(parts[:i])
                    if prefix not in names or prefix == name:
                        continue
                    # a module's own packages are already importing when it runs: only an
                    # explicit import of one (``from shopfuse.model import X``) is an edge to it
                    if name.startswith(f"{prefix}.") and prefix != target:
                        continue
                    edges.add(prefix)
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle for each strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [cycle_in(graph, c) for c in components]


def cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A concrete cycle through the component's first module, for the failure message."""
    start = min(component)
    paths: dict[str, list[str]] = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    return sorted(component)


def test_graph_sees_the_package() -> None:
    graph = import_graph(module_level=True)
    assert "shopfuse.engine" in graph
    assert "shopfuse.store.base" in graph["shopfuse.engine"]


def test_cycle_finder_reports_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]


def test_no_import_cycles() -> None:
    cycles = find_cycles(import_graph(module_level=True))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_services_do_not_import_the_engine() -> None:
    graph = import_graph(module_level=False)
    services = [f"{PACKAGE}.{s}" for s in SERVICES]
    offenders = sorted(
        name
        for name, edges in graph.items()
        if FACADE in edges and any(name == s or name.startswith(f"{s}.") for s in services)
    )
    assert not offenders, f"modules below the engine that import {FACADE}: {offenders}"


def test_no_import_cycles_inside_a_subpackage_even_lazily() -> None:
    """Function-level imports count here: a lazy import back into a sibling module hides a cycle."""
    graph = import_graph(module_level=False)

    def subpackage(name: str) -> str:
        return ".".join(name.split(".")[:2])

    inside = {m: {t for t in edges if subpackage(t) == subpackage(m)} for m, edges in graph.items()}
    cycles = find_cycles(inside)
    assert not cycles, "import cycles inside a subpackage:\n" + "\n".join(" -> ".join(c) for c in cycles)
