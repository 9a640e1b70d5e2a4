"""Bring a participant to the start of step N: ``setup_env.py --upto N``.

A learner who joins late (or broke a step) needs the finished state of every step before
N. It is made by running the solution notebooks of those steps for the participant — the
very code the solutions teach, not a second copy of it — and then confirming with the
labs' own checks that every exercise of those steps is correct.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from workshop import grading
from workshop.backend import Backend, current
from workshop.errors import WorkshopError

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
CELL_TIMEOUT_SECONDS = 300
STEP = "step"  # the kind of the rows complete() returns, beside setup's resource rows


def solutions_before(step: int, folder: Path = SOLUTIONS) -> list[Path]:
    """The solution notebooks of steps 0 .. step-1, each step present exactly once."""
    by_step: dict[int, Path] = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        by_step.setdefault(int(path.name[:2]), path)
    if step < 0:
        raise WorkshopError("--upto needs a step number of 0 or more.")
    missing = [n for n in range(step) if n not in by_step]
    if missing:
        last = min(missing)
        raise WorkshopError(f"There is no solution for step {last} yet, so --upto can be at most {last}.")
    return [by_step[n] for n in range(step)]


def complete(backend: Backend, prefix: str, step: int) -> list[dict[str, Any]]:
    """Run the solutions before ``step`` for ``prefix``; one row per step completed."""
    rows = []
    for path in solutions_before(step):
        seconds = _complete_one(backend, prefix, path)
        rows.append({"kind": STEP, "name": path.stem, "status": f"completed in {seconds:.1f} s"})
    return rows


def catch_up(step: int, backend: Backend | None = None) -> None:
    """A lab's first cell: finish every pipeline step before ``step`` that is not finished yet.

    Step 0 is a warm-up nothing later depends on, so it is left to the learner. A step counts
    as finished when its checks are correct, judged on behaviour alone (the learner's handler
    files are not consulted), so a learner who solved a step keeps their own work.
    """
    backend = backend or current()
    names = backend.names()
    for path in solutions_before(step)[1:]:
        with tempfile.TemporaryDirectory() as empty:
            if not _unfinished(backend, names.prefix, path, Path(empty)):
                print(f"step {_lab_of(path)} ({path.stem}): already done")
                continue
        seconds = _complete_one(backend, names.prefix, path)
        print(f"step {_lab_of(path)} ({path.stem}): completed for you from its solution in {seconds:.1f} s")


def _lab_of(path: Path) -> str:
    return str(int(path.name[:2]))


def _unfinished(backend: Backend, prefix: str, path: Path, workdir: Path) -> list[grading.Verdict]:
    context = grading.Context(aws=backend, names=backend.names(prefix), workdir=workdir)
    verdicts = (grading.evaluate(e.id, context) for e in grading.exercises(_lab_of(path)))
    return [v for v in verdicts if v.outcome is not grading.Outcome.CORRECT]


def _complete_one(backend: Backend, prefix: str, path: Path) -> float:
    """Run one solution for ``prefix`` in a private folder, then insist its checks are correct."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"workshop-{prefix}-") as folder:
        workdir = Path(folder)  # handler files of parallel participants never collide
        shutil.copy(path, workdir / path.name)
        _run(backend, workdir / path.name, prefix)
        wrong = _unfinished(backend, prefix, path, workdir)
    if wrong:
        raise WorkshopError(f"step {_lab_of(path)} did not complete for {prefix}: {wrong[0].line}")
    return time.perf_counter() - started


def _run(backend: Backend, path: Path, prefix: str) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        # the kernel's own start-up chatter would land in the calling notebook's output
        env = {**os.environ, **backend.environment_variables(), "WORKSHOP_PREFIX": prefix}
        client.execute(env=env, stderr=subprocess.DEVNULL)
    except CellExecutionError as error:
        summary = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise WorkshopError(f"{path.name} failed for {prefix}: {summary}") from None
