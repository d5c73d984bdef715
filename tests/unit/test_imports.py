"""The package's import structure: no cycles, core code that does not reach into the
release or CLI layers, and a command line that imports only the command it runs.

The graph is read from the source with :mod:`ast` (nothing is imported to build
it): an edge for every ``import`` of a charthouse module, at module level or
inside a function (``from pkg import mod`` is an edge to the module ``pkg.mod``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from charthouse import paths

PACKAGE_ROOT = paths.REPO_ROOT / "scripts"
PACKAGE = "charthouse"
#: Layers: a module of a layer may import modules of the same or a lower layer only.
CORE_MUST_NOT_IMPORT = ("charthouse.release", "charthouse.commands", "charthouse.cli")
#: The entry points, which exist to start the CLI.
ENTRY_POINTS = {"charthouse", "charthouse.__main__"}


def module_files() -> dict[str, Path]:
    found = {}
    for path in sorted((PACKAGE_ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking_block(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, deferred: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run: at module level, and (``deferred``) inside functions;
    never those under ``if TYPE_CHECKING:``."""
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if _is_type_checking_block(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if deferred:
                pending.extend(node.body)
        else:
            pending.extend(ast.iter_child_nodes(node))


def import_graph(*, deferred: bool) -> dict[str, set[str]]:
    modules = module_files()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _imports(ast.parse(path.read_text(), filename=str(path)), deferred):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # ``from pkg import mod`` depends on the module pkg.mod (as pylint and
                # import-linter count it); ``from mod import name`` on mod itself.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_imports_it_must() -> None:
    """Keeps the cycle tests from passing on an empty graph."""
    graph = import_graph(deferred=True)
    assert "charthouse.charts" in graph["charthouse.chartset"]
    assert "charthouse.release.targets.oci" in graph["charthouse.release.pipeline"]  # deferred
    assert (
        "charthouse.release.targets.oci"
        not in import_graph(deferred=False)["charthouse.release.pipeline"]
    )
    assert "charthouse.release.targets.dir" in graph["charthouse.release.pipeline"]
    assert "charthouse.release" not in graph["charthouse.release.pipeline"]  # pkg import mod
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]


def test_no_import_cycle_at_import_time() -> None:
    assert cycles(import_graph(deferred=False)) == []


def test_no_import_cycle_even_through_deferred_imports() -> None:
    assert cycles(import_graph(deferred=True)) == []


def test_core_modules_do_not_import_the_release_or_cli_layers() -> None:
    graph = import_graph(deferred=True)
    core = [
        name
        for name in graph
        if not name.startswith(CORE_MUST_NOT_IMPORT) and name not in ENTRY_POINTS
    ]
    reaching = {
        name: sorted(t for t in graph[name] if t.startswith(CORE_MUST_NOT_IMPORT)) for name in core
    }
    assert {name: targets for name, targets in reaching.items() if targets} == {}


def test_only_the_cli_imports_the_commands() -> None:
    graph = import_graph(deferred=True)
    cli_layer = ("charthouse.cli", "charthouse.commands")
    reaching = {
        name: sorted(t for t in targets if t.startswith(cli_layer))
        for name, targets in graph.items()
        if not name.startswith(cli_layer) and name not in ENTRY_POINTS
    }
    assert {name: targets for name, targets in reaching.items() if targets} == {}


def _loaded_modules(*argv: str) -> set[str]:
    """The modules a ``charthouse ARGV`` process has imported when it exits."""
    probe = (
        "import sys\n"
        "from charthouse.cli import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.__stderr__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    return set(result.stderr.split())


#: Libraries and modules a command that does not need them must not pay for.
HEAVY = {
    "yaml",
    "jsonschema",
    "fastjsonschema",
    "kubernetes_validate",
    "cryptography",
    "charthouse.render",
    "charthouse.values",
    "charthouse.tools",
    "charthouse.release.pipeline",
}


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["--version"], ["render", "--help"], ["cluster", "--help"], ["tools", "bin-dir"]],
    ids=" ".join,
)
def test_the_cli_imports_only_the_command_it_runs(argv: list[str]) -> None:
    loaded = _loaded_modules(*argv)
    assert "charthouse.cli" in loaded
    commands = {m for m in loaded if m.startswith("charthouse.commands.")} - {
        "charthouse.commands.options"
    }
    expected = {f"charthouse.commands.{argv[0]}"} if not argv[0].startswith("-") else set()
    assert commands == expected
    assert loaded & HEAVY == set()
