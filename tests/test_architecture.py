"""The layout keeps its promises: the module map in docs/architecture.md names every room,
the core stays pure, and imports flow one way (no cycles).

These read the source with `ast` (nothing is imported), so they are fast and see imports
inside functions too.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "voicecoach"
MAP = ROOT / "docs" / "architecture.md"

# The core of docs/architecture.md: pure, testable without audio, a terminal or files.
CORE = frozenset(
    {
        "model",
        "library",
        "adapt",
        "timeline",
        "schedule",
        "mixer",
        "dsp",
        "source",
        "commands",
        "outcome",
        "phrases",
        "wording",
        "errors",
    }
)
# What the core may import besides the core itself and the standard library's pure parts.
CORE_THIRD_PARTY = frozenset({"numpy", "soxr"})
# Standard-library modules that do I/O or talk to the system: the edges' business.
IO_STDLIB = frozenset(
    {
        "os",
        "pathlib",
        "io",
        "subprocess",
        "socket",
        "sqlite3",
        "threading",
        "select",
        "signal",
        "termios",
        "tty",
        "shutil",
        "tempfile",
        "tomllib",
        "multiprocessing",
        "ctypes",
        "fcntl",
        "sys",
        "atexit",
    }
)


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name below ``voicecoach``, e.g. ``routine.keys``."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and not any(p.startswith("_") for p in parts):
            found[".".join(parts)] = path
    return found


def mapped_paths() -> set[str]:
    """The paths named at the start of each line of the map's code blocks (``x.py``, ``pkg/``)."""
    text = MAP.read_text(encoding="utf-8")
    named = set()
    for block in re.findall(r"```\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            match = re.match(r"([a-z_]+(?:/[a-z_]+\.py|\.py|/))\s", line)
            if match:
                named.add(match.group(1))
    return named


def _module_level(tree: ast.Module) -> Iterator[ast.AST]:
    """The nodes that run when the module is imported (not the bodies of functions)."""
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))


def imports(path: Path, *, at_import: bool = False) -> Iterator[tuple[str, bool]]:
    """Each module ``path`` imports (absolute name), and whether it is only for type checking.

    With ``at_import``, only the imports that run when the module itself is imported.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for child in node.body for n in ast.walk(child))
    package = ".".join(("voicecoach", *path.relative_to(PACKAGE).parent.parts))
    for node in _module_level(tree) if at_import else ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in typing_only
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                # `from voicecoach.routine import messages`: the name may be a module.
                yield base, id(node) in typing_only
                yield f"{base}.{alias.name}", id(node) in typing_only


def own(name: str, known: dict[str, Path]) -> str | None:
    """The module of ours that an imported name refers to (longest match), else None."""
    if not name.startswith("voicecoach."):
        return None
    parts = name.split(".")[1:]
    while parts:
        if ".".join(parts) in known:
            return ".".join(parts)
        parts.pop()
    return None


def test_the_map_names_every_module_and_only_modules_that_exist() -> None:
    known = modules()
    named = mapped_paths()
    expected = set()
    for name, path in known.items():
        top = name.split(".")[0]
        is_package = (PACKAGE / top).is_dir()
        if not is_package:
            expected.add(f"{top}.py")
        elif any(n.startswith(f"{top}/") and n.endswith(".py") for n in named):
            # A package whose modules the map lists one by one: all of them, then.
            if path.name != "__init__.py":
                expected.add(f"{top}/{path.name}")
        else:
            expected.add(f"{top}/")
    assert sorted(expected - named) == [], "modules missing from docs/architecture.md"
    packages = {f"{p.name}/" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert sorted(named - expected - packages) == [], (
        "docs/architecture.md names modules that do not exist"
    )


def test_the_core_does_no_io_and_uses_no_edge_module() -> None:
    known = modules()
    wrong = []
    for name in sorted(CORE):
        for imported, typing_only in imports(known[name]):
            mine = own(imported, known)
            top = imported.split(".")[0]
            if mine is not None:
                ok = mine in CORE
            elif top == "voicecoach":
                ok = True  # the package itself
            else:
                ok = top in CORE_THIRD_PARTY or (top not in IO_STDLIB and _is_stdlib(top))
            if not ok and not typing_only:
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def _is_stdlib(top: str) -> bool:
    return top in sys.stdlib_module_names


def test_imports_flow_one_way() -> None:
    """No cycle among the imports that run at import time (lazy imports inside functions and
    type-checking-only imports do not count)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        # A submodule's import of its own package is Python initialising the package first,
        # not a dependency of the design.
        graph[name] = {
            mine
            for imported, typing_only in imports(path, at_import=True)
            if (mine := own(imported, known))
            and not typing_only
            and mine != name
            and not name.startswith(f"{mine}.")
        }
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or ())


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.mark.parametrize(
    "graph, cyclic",
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, False),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
    ],
)
def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle(
    graph: dict[str, set[str]], cyclic: bool
) -> None:
    assert (_find_cycle(graph) is not None) is cyclic
