"""The two requirement files: requirements.txt is what a learner installs, requirements-dev.txt
what the kit's own tests and benchmarks add on top.

Each package is pinned exactly and once; the learner's file carries no test tool and nothing of
moto the emulator never loads; every import of the kit is installed by the file its folder needs;
and each file is complete and no larger than it must be: what its packages pull in (read from the
installed packages' metadata, `make test` installs both files) is pinned, and every pin is pulled in.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import json
import os
import re
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.version import Version

from workshop.core.paths import PROJECT_ROOT as ROOT

LEARNER = ROOT / "requirements.txt"
DEV = ROOT / "requirements-dev.txt"

# What a learner runs: the package, the notebooks, labs and solutions, the setup scripts.
LEARNER_CODE = ("workshop", "notebooks", "labs", "solutions", "instructor", "setup_env.py", "teardown_env.py")
# What only the kit's own checks run.
DEV_CODE = ("tests", "bench")

# Test and benchmark tools: requirements-dev.txt only.
DEV_ONLY = {
    "pytest",
    "pytest-timeout",
    "pytest-xdist",
    "execnet",
    "ruff",
    "nbval",
    "playwright",
    "awscli",
    "coverage",
    "iniconfig",
    "pluggy",
    "greenlet",
    "docutils",
    "rsa",
    "pyasn1",
}
# What moto's `server` extra pulls in for services the emulator does not serve: in neither file.
NEVER_LOADED = {
    "cfn-lint",
    "sympy",
    "mpmath",
    "networkx",
    "regex",
    "jsonpatch",
    "docker",
    "graphql-core",
    "antlr4-python3-runtime",
    "aws-xray-sdk",
    "wrapt",
    "jsonpath-ng",
    "py-partiql-parser",
}

# Markers are judged for this machine and, for packages a file pins for another system's
# learners (colorama on Windows), for the other two.
PLATFORMS = {
    "here": {},
    "windows": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"},
    "macos": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"},
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read(path: Path) -> tuple[dict[str, Requirement], list[str], list[str]]:
    """(pins by canonical name, option lines such as `-e .`, names pinned more than once)."""
    pins: dict[str, Requirement] = {}
    options: list[str] = []
    twice: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        requirement = Requirement(line)
        name = canonical(requirement.name)
        if name in pins:
            twice.append(name)
        pins[name] = requirement
    return pins, options, twice


LEARNER_PINS, LEARNER_OPTIONS, LEARNER_TWICE = read(LEARNER)
DEV_PINS, DEV_OPTIONS, DEV_TWICE = read(DEV)


def pinned_version(requirement: Requirement) -> Version | None:
    specifiers = list(requirement.specifier)
    if len(specifiers) == 1 and specifiers[0].operator == "==" and "*" not in specifiers[0].version:
        return Version(specifiers[0].version)
    return None


# ---- the files themselves ----------------------------------------------------------------


@pytest.mark.parametrize("pins", [LEARNER_PINS, DEV_PINS], ids=["requirements.txt", "requirements-dev.txt"])
def test_every_package_is_pinned_exactly(pins):
    loose = sorted(str(r) for r in pins.values() if pinned_version(r) is None)
    assert not loose, f"not pinned with a single ==: {loose}"


def test_no_package_is_pinned_twice():
    assert not LEARNER_TWICE, f"pinned twice in requirements.txt: {LEARNER_TWICE}"
    assert not DEV_TWICE, f"pinned twice in requirements-dev.txt: {DEV_TWICE}"
    both = sorted(LEARNER_PINS.keys() & DEV_PINS.keys())
    assert not both, f"pinned in both files (requirements-dev.txt includes requirements.txt): {both}"


def test_the_dev_file_builds_on_the_learners_and_the_learners_installs_the_kit():
    assert DEV_OPTIONS == ["-r requirements.txt"]
    assert LEARNER_OPTIONS == ["-e ."]


def test_a_learner_installs_no_test_tool_and_nothing_the_emulator_never_loads():
    assert not DEV_ONLY & LEARNER_PINS.keys(), sorted(DEV_ONLY & LEARNER_PINS.keys())
    assert not NEVER_LOADED & (LEARNER_PINS.keys() | DEV_PINS.keys()), sorted(
        NEVER_LOADED & (LEARNER_PINS.keys() | DEV_PINS.keys())
    )
    # moto's server app needs only Flask and flask-cors; its `server` extra would bring every
    # service's dependencies (cfn-lint and sympy among them).
    moto = LEARNER_PINS["moto"]
    assert "server" not in moto.extras and "all" not in moto.extras, moto
    assert {"flask", "flask-cors"} <= LEARNER_PINS.keys()


# ---- imports -------------------------------------------------------------------------------


def _imports_of_source(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _imports_of_cell(source: str) -> set[str]:
    """A code cell's imports: IPython's magics and shell lines aside (a `%%writefile` cell's body is
    a handler, run by the emulator on the kit's Python, so it counts)."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        return _imports_of_source(code)
    except SyntaxError:  # a cell that is not Python: read its import lines
        return set(re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", code, re.MULTILINE))


def _files(roots: tuple[str, ...]):
    for root in roots:
        path = ROOT / root
        if path.is_file():
            yield path
            continue
        for folder, dirs, files in os.walk(path):
            # handlers/ beside the notebooks are what their %%writefile cells write: read from the cells
            dirs[:] = [d for d in dirs if not d.startswith((".", "__")) and d != "handlers"]
            for name in files:
                if name.endswith((".py", ".ipynb")):
                    yield Path(folder) / name


def imports(roots: tuple[str, ...]) -> dict[str, set[str]]:
    """Top-level module names imported anywhere under ``roots``: {module: {files}}."""
    found: dict[str, set[str]] = {}
    for path in _files(roots):
        if path.suffix == ".py":
            names = _imports_of_source(path.read_text())
        else:
            cells = json.loads(path.read_text())["cells"]
            names = set().union(*(_imports_of_cell("".join(c["source"])) for c in cells if c["cell_type"] == "code"))
        for name in names:
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def _local_modules() -> set[str]:
    """Modules of this repository (the package, tests, bench's scripts, handlers)."""
    local = set()
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("__pycache__", "node_modules")]
        if any(name.endswith(".py") for name in files):
            local.add(Path(folder).name)
        local.update(name[:-3] for name in files if name.endswith(".py"))
    return local


def _unpinned(roots: tuple[str, ...], pins: set[str]) -> list[str]:
    distributions = metadata.packages_distributions()
    local = _local_modules()
    missing = []
    for module, files in sorted(imports(roots).items()):
        if module in sys.stdlib_module_names or module in local:
            continue
        names = {canonical(d) for d in distributions.get(module, [])}
        if not names:
            missing.append(f"{module} (imported by {sorted(files)[:3]}; no installed package provides it)")
        elif not names & pins:
            missing.append(f"{module} (package {sorted(names)}, imported by {sorted(files)[:3]})")
    return missing


def test_every_import_a_learner_runs_is_in_requirements_txt():
    missing = _unpinned(LEARNER_CODE, set(LEARNER_PINS))
    assert not missing, "imported by what a learner runs but not pinned in requirements.txt:\n" + "\n".join(missing)


def test_every_import_of_the_tests_and_benchmarks_is_in_one_of_the_files():
    missing = _unpinned(DEV_CODE, set(LEARNER_PINS) | set(DEV_PINS))
    assert not missing, "imported by tests/ or bench/ but pinned in neither file:\n" + "\n".join(missing)


def test_the_import_scan_sees_imports():
    """The scan above finds what it should, so an empty answer means something."""
    learner = imports(LEARNER_CODE)
    assert {"boto3", "pandas", "moto", "aws_lambda_powertools"} <= learner.keys()
    assert "pytest" not in learner
    assert {"pytest", "playwright"} <= imports(DEV_CODE).keys()


# ---- completeness: what the pinned packages pull in ----------------------------------------


def pulled_in(roots: dict[str, Requirement], platform: str) -> tuple[set[str], set[str]]:
    """(every package ``roots`` need on ``platform``, read from installed metadata;
    those needed but not installed here)."""
    environment = {**default_environment(), **PLATFORMS[platform]}
    extras_done: dict[str, set[str]] = {}
    needed: set[str] = set()
    absent: set[str] = set()
    todo = [(name, set(requirement.extras)) for name, requirement in roots.items()]
    while todo:
        name, extras = todo.pop()
        done = extras_done.setdefault(name, set())
        if name in needed and extras <= done:
            continue
        needed.add(name)
        done |= extras
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            absent.add(name)
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or any(
                requirement.marker.evaluate({**environment, "extra": extra}) for extra in ("", *sorted(done))
            ):
                todo.append((canonical(requirement.name), set(requirement.extras)))
    return needed, absent


@pytest.mark.parametrize("which", ["requirements.txt", "requirements-dev.txt"])
def test_each_file_pins_exactly_what_its_packages_pull_in(which):
    pins = dict(LEARNER_PINS) if which == "requirements.txt" else {**LEARNER_PINS, **DEV_PINS}
    roots = {name: requirement for name, requirement in pins.items()}
    here, absent = pulled_in(roots, "here")
    assert not absent, f"not installed in this venv (`make test` installs both files): {sorted(absent)}"
    unpinned = sorted(here - pins.keys())
    assert not unpinned, f"pulled in by {which}'s packages but not pinned: {unpinned}"
    wrong = sorted(
        f"{name}: {metadata.version(name)} installed, {pins[name]} pinned"
        for name in here
        if Version(metadata.version(name)) != pinned_version(pins[name])
    )
    assert not wrong, f"installed versions differ from the pins (reinstall: `make test`): {wrong}"

    # Each pin is needed: a package a learner asked for by name, or pulled in by one, on some system.
    asked = asked_for([LEARNER] if which == "requirements.txt" else [LEARNER, DEV])
    anywhere = set().union(*(pulled_in({n: pins[n] for n in asked}, platform)[0] for platform in PLATFORMS))
    stray = sorted(pins.keys() - anywhere)
    assert not stray, f"pinned in {which} but needed by none of its packages on any system: {stray}"


def asked_for(paths: list[Path]) -> set[str]:
    """The packages asked for by name: each file's pins above its list of what they pull in."""
    names = set()
    for path in paths:
        head, found, _ = path.read_text().partition("\n# What the packages above pull in")
        assert found, f"{path.name} no longer says where the pulled-in packages start"
        names |= {
            canonical(Requirement(line.split(" #", 1)[0]).name)
            for line in head.splitlines()
            if line.strip() and not line.startswith(("#", "-"))
        }
    return names
