"""The layering rules of ARCHITECTURE.md, checked on every module's imports.

Layers, lowest first: core, aws, account, lab_helpers, teaching, cli; the emulator stands on core
and aws only, and only the command line reaches into it. Imports point downward or stay within a
layer; no two modules import each other, directly or around a circle; only the moto adapters
import moto. Imports inside functions count: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from workshop.core.paths import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "workshop"
MAY_IMPORT = {
    "core": {"core"},
    "aws": {"core", "aws"},
    "account": {"core", "aws", "account"},
    "lab_helpers": {"core", "aws", "account", "lab_helpers"},
    "teaching": {"core", "aws", "account", "lab_helpers", "teaching"},
    "emulator": {"core", "aws", "emulator"},
    "cli": {"core", "aws", "account", "lab_helpers", "teaching", "emulator", "cli"},
}
MOTO_ADAPTERS = "workshop.emulator.moto_adapters"


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute names, wherever in the file the import is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module_name(path).split(".")
                if path.name != "__init__.py":
                    package = package[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            found.add(base)
            if base == "workshop":  # the notebooks' face: record the name asked for
                found.update(f"workshop:{alias.name}" for alias in node.names)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES)
    return found


IMPORTS = {name: imports_of(path) for name, path in MODULES.items()}


def layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "workshop" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in MAY_IMPORT else None


def test_every_module_belongs_to_a_layer():
    loose = [name for name in MODULES if name not in ("workshop", "workshop.__main__") and layer(name) is None]
    assert loose == [], f"modules outside every layer: {loose}"


def test_imports_point_downward():
    wrong = []
    for name, imported in IMPORTS.items():
        own = layer(name)
        if own is None:
            continue
        for target in imported:
            theirs = layer(target)
            if target.startswith("workshop") and theirs is not None and theirs not in MAY_IMPORT[own]:
                wrong.append(f"{name} imports {target} ({own} may not import {theirs})")
    assert wrong == [], "\n".join(sorted(wrong))


def test_the_kit_never_imports_the_notebooks_face():
    """``from workshop import check`` is for notebooks; the kit's own modules name the layer."""
    wrong = [
        name
        for name, imported in IMPORTS.items()
        if name != "workshop"
        for target in imported
        if target.startswith("workshop:") and target != "workshop:__version__"
    ]
    assert wrong == [], f"modules importing the notebooks' face: {sorted(set(wrong))}"


def test_only_the_moto_adapters_import_moto():
    wrong = sorted(
        name
        for name, imported in IMPORTS.items()
        if not name.startswith(MOTO_ADAPTERS)
        and any(target == "moto" or target.startswith("moto.") for target in imported)
    )
    assert wrong == [], f"moto imported outside {MOTO_ADAPTERS}: {wrong}"


def test_no_circles():
    graph = {
        name: {target for target in imported if target in MODULES and target != name}
        for name, imported in IMPORTS.items()
    }
    # a package's __init__ importing its own submodules is how a package shows its face, not a circle
    for name in graph:
        graph[name] = {t for t in graph[name] if not (MODULES[name].name == "__init__.py" and t.startswith(name + "."))}
    circles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                circles.append(" -> ".join(stack[stack.index(target) :] + [target]))
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert circles == [], "import circles:\n" + "\n".join(circles)


@pytest.mark.parametrize("package", sorted(name for name, path in MODULES.items() if path.name == "__init__.py"))
def test_every_package_says_what_it_is_for_and_shows_its_face(package):
    tree = ast.parse(MODULES[package].read_text())
    docstring = ast.get_docstring(tree)
    assert docstring, f"{package} has no docstring saying what it is for"
    names = [
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]
    assert "__all__" in names, f"{package} has no __all__"
    face = importlib.import_module(package).__all__
    folder = MODULES[package].parent
    submodules = {path.stem for path in folder.glob("*.py") if path.stem != "__init__"} | {
        path.name for path in folder.iterdir() if (path / "__init__.py").exists()
    }
    if set(face) <= submodules | {"__main__"}:  # a package that lists its modules lists them all
        assert sorted(face) == sorted(submodules), (
            f"{package}.__all__ lists {sorted(face)}, its modules are {sorted(submodules)}"
        )


def test_no_module_over_400_lines_without_a_reason():
    """A long module says why in a line starting ``Longer than 400 lines:``."""
    long = [
        f"{name} ({lines} lines)"
        for name, path in MODULES.items()
        if (lines := len(path.read_text().splitlines())) > 400 and "Longer than 400 lines:" not in path.read_text()
    ]
    assert long == [], f"modules over 400 lines without a stated reason: {long}"


def test_a_notebook_importing_every_name_of_the_face_does_not_load_nbformat():
    """nbformat's schema checks cost 1.2 s of CPU at import (jsonschema builds rfc3987_syntax's
    grammar), in every kernel of a class and of the suite: only the kit's tools may load it."""
    import subprocess
    import sys

    code = "import sys, workshop\nfor name in workshop.__all__: getattr(workshop, name)\nprint(sorted(m for m in ('nbformat', 'nbclient', 'jsonschema') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr
