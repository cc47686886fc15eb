"""The layers import only downward, and no modules import each other in a circle.

Read from the source with `ast`, so a new import that runs back up a layer fails here before
anyone has to notice it in review."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "resolvers", "schema", "web", "bench")
ENTRY_POINTS = ("server", "commands")

# What each layer may import from the project, top to bottom. `bench` measures everything.
ALLOWED: dict[str, set[str]] = {
    "services": {"services"},
    "resolvers": {"resolvers", "services"},
    "schema": {"schema", "resolvers", "services"},
    # HTTP and WebSockets: above the schema, which knows nothing of how it is carried.
    "schema.transport": {"schema.transport", "schema", "resolvers", "services"},
    "web": {"web", "services"},
    "commands": {"schema", "services"},
    "server": {"commands", "schema.transport", "schema", "services", "web"},
    "bench": {
        "bench",
        "server",
        "web",
        "schema.transport",
        "schema",
        "resolvers",
        "services",
        "tests",
    },
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def project_modules() -> dict[str, Path]:
    found = {name: ROOT / f"{name}.py" for name in ENTRY_POINTS}
    for package in (*PACKAGES, "tests"):
        for path in (ROOT / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


def imports_of(path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """The project modules `path` imports at module level or in functions, by full name."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import module` names the module; `from module import name` the module
            # it is from. (A package's own __init__ always runs first, whichever is imported.)
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in modules
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name in modules:
                yield name


@functools.cache
def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: set(imports_of(path, modules)) - {name} for name, path in modules.items()}


def layer(module: str) -> str:
    if module == "schema.transport" or module.startswith("schema.transport."):
        return "schema.transport"
    return module.split(".", maxsplit=1)[0]


@pytest.mark.parametrize("module", sorted(m for m in project_modules() if layer(m) != "tests"))
def test_imports_run_only_downward(module: str) -> None:
    upward = {
        imported for imported in graph()[module] if layer(imported) not in ALLOWED[layer(module)]
    }
    assert not upward, f"{module} imports a layer above it: {sorted(upward)}"


def test_no_import_circles() -> None:
    edges = graph()
    circles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for imported in sorted(edges.get(module, ())):
            if state.get(imported) == "open":
                circles.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert circles == []
