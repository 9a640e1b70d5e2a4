"""Shared fixtures: one real emulator process for the session, reached only over HTTP.

Tests are grouped by kind, one folder each (unit, emulator, labs, notebooks, proof); every test
carries its folder's name as a marker, so ``pytest -m unit`` or ``-m "not proof"`` runs one kind.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workshop.core import backend as backends
from workshop.core import launcher
from workshop.core.launcher import free_port
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.core.waiting import wait_for

KINDS = ("unit", "emulator", "labs", "notebooks", "proof")
# The suite runs on every core (pytest.ini), handing each worker the next test as it finishes:
# the longest start first, so no worker is left with a minutes-long run while the others have
# finished. Slow tests first (the pipeline under faults, then the lessons under chaos), then
# the kinds by how long their tests take.
SLOW_FIRST = ("labs", "proof", "notebooks", "emulator", "unit")
LONGEST_FIRST = ("notebooks", "proof", "labs", "emulator", "unit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = item.path.parent.name
        if kind in KINDS:
            item.add_marker(kind)
    items.sort(key=_longest_first)


def _longest_first(item: pytest.Item) -> tuple[bool, int]:
    kind, slow = item.path.parent.name, item.get_closest_marker("slow") is not None
    order = SLOW_FIRST if slow else LONGEST_FIRST
    return (not slow, order.index(kind) if kind in order else len(order))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Two workers a core: most tests wait on emulators, kernels and Lambda workers, not the CPU
    (with one worker a core the cores were a third idle). At most eight: each has its own emulators."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


def local_environment(port: int, state_dir: Path) -> dict[str, str]:
    """A process environment for the embedded backend on ``port``: the tests' own processes
    never see a developer's real AWS settings."""
    return backends.local_process_environment(port, state_dir, PYTHONPATH=str(ROOT))


@contextlib.contextmanager
def emulator_process(
    state_dir: Path,
    port: int | None = None,
    persist: bool = False,
    stop: str = "terminate",
    serve_args: tuple[str, ...] = (),
    settings: dict[str, str] | None = None,
) -> Iterator[dict[str, str]]:
    """A running emulator in its own process; yields the environment that points at it.

    Test emulators save no state unless asked (``persist``): each starts empty, and the
    session's would spend its time pickling every earlier test's resources. ``stop`` is how
    it ends: "terminate" (SIGTERM, a clean stop) or "kill" (SIGKILL, a crash). ``settings``:
    more ``WORKSHOP_*`` variables for the server alone (teaching switches, time scale)."""
    port = port or free_port()
    env = {**local_environment(port, state_dir), "WORKSHOP_PERSIST": "on" if persist else "off"}
    server_env = {**env, **(settings or {})}
    url = f"http://127.0.0.1:{port}"
    log = open(state_dir / "emulator.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "workshop", "serve", "--port", str(port), "--quiet", *serve_args],
        cwd=ROOT,
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            if launcher.probe(url, timeout=0.2):
                break
            assert process.poll() is None, "the emulator exited at start"
            time.sleep(0.05)
        else:
            raise AssertionError("the emulator did not answer within 15 s")
        yield env
    finally:
        if stop == "kill":
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def emulator_stats(endpoint_url: str) -> dict[str, Any]:
    """The emulator's counters (``/_workshop/stats``): invocations, mappings, snapshots."""
    with urllib.request.urlopen(f"{endpoint_url}/_workshop/stats", timeout=30) as answer:
        return json.loads(answer.read())


def wait_for_snapshot_after(env: dict[str, str], moment: float, timeout: float = 60) -> None:
    """Wait until a persisting emulator has saved a state read after ``moment`` (seconds since the
    epoch): what a crash from then on keeps. A fixed sleep is not enough on a busy machine, where
    writing a snapshot can take longer than the interval between them."""

    def captured_at() -> float:
        return emulator_stats(f"http://127.0.0.1:{env['WORKSHOP_PORT']}")["snapshots"]["last_captured_at"] or 0.0

    wait_for(lambda: captured_at() > moment, "a snapshot of the state", timeout=timeout)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The session's emulator, shared by the tests (each with a prefix of its own)."""
    with emulator_process(tmp_path_factory.mktemp("state")) as env:
        yield env


@pytest.fixture(scope="session")
def backend(emulator: dict[str, str]) -> backends.Backend:
    return backends.from_environment(emulator)


@pytest.fixture
def in_process_backend(emulator: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point this process's own workshop.core.backend.current() (and kernels it starts) at the emulator."""
    for name, value in emulator.items():
        monkeypatch.setenv(name, value)
    backends.current.cache_clear()
    yield
    backends.current.cache_clear()


_counter = itertools.count(1)


@pytest.fixture
def prefix() -> str:
    """A prefix no other test uses, so tests share one emulator without colliding."""
    return f"t{os.getpid() % 1000}-{next(_counter)}"


def run_script(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run one of the kit's command-line tools as a learner would, capturing its output."""
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, input=stdin, timeout=300
    )


@pytest.fixture
def ctx(backend: backends.Backend, prefix: str, tmp_path: Path):
    """What a lab check sees: a fresh participant's base environment and a notebook folder."""
    from workshop.account import environment
    from workshop.teaching import grading

    names = backend.names(prefix)
    environment.provision(backend, names)
    (tmp_path / "handlers").mkdir()
    return grading.Context(aws=backend, names=names, workdir=tmp_path)
