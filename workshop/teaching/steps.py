"""Bring a participant to the start of step N: ``setup_env.py --upto N``.

A learner who joins late (or broke a step) needs the finished state of every step before
N. It is made by running the solution notebooks of those steps for the participant — the
very code the solutions teach, not a second copy of it — and then confirming with the
labs' own checks that every exercise of those steps is correct.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workshop.core.backend import AWS, Backend, current
from workshop.core.errors import WorkshopError
from workshop.core.naming import resolve_prefix
from workshop.core.paths import SOLUTIONS
from workshop.teaching import grading, pacing, progress

# nbformat and nbclient are imported where a step is run: every notebook imports this module
# (see workshop.teaching.pacing for their cost).
if TYPE_CHECKING:
    import nbformat

CELL_TIMEOUT_SECONDS = 300
STEP = "step"  # the kind of the rows complete() returns, beside setup's resource rows
# Set in the kernels complete() starts: it runs the steps in order, so a solution's own
# catch_up() has nothing to do and need not check the earlier steps again.
COMPLETING = "WORKSHOP_COMPLETING_STEPS"


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
    paths = solutions_before(step)
    _complete(backend, prefix, paths)
    return [{"kind": STEP, "name": path.stem, "status": "completed"} for path in paths]


def catch_up(step: int, backend: Backend | None = None) -> None:
    """A lab's first cell: finish the pipeline steps before ``step`` that are not finished yet.

    Step 0 is a warm-up nothing later depends on, so it is left to the learner. A step counts
    as finished when its checks are correct, judged on behaviour alone (the learner's handler
    files are not consulted), so a learner who solved the steps keeps their own work. From the
    first unfinished step on, every later step is redone too: a later step may rely on, or
    replace, what the unfinished one builds.
    """
    if os.environ.get(COMPLETING):
        return
    backend = backend or current()
    prefix = backend.names().prefix
    paths = solutions_before(step)[1:]
    with tempfile.TemporaryDirectory() as empty:
        first = next((n for n, path in enumerate(paths) if _unfinished(backend, prefix, path, Path(empty))), None)
    if first is None:
        print(f"steps 1-{step - 1} are done" if paths else "nothing to catch up on")
        return
    for path in paths[:first]:
        print(f"step {_lab_of(path)} ({path.stem}): already done")
    todo = paths[first:]
    seconds = _complete(backend, prefix, todo)
    print(f"completed for you from their solutions in {seconds:.1f} s: {', '.join(p.stem for p in todo)}")


def _lab_of(path: Path) -> str:
    return str(int(path.name[:2]))


def _unfinished(backend: Backend, prefix: str, path: Path, workdir: Path) -> list[grading.Verdict]:
    context = grading.Context(aws=backend, names=backend.names(prefix), workdir=workdir)
    verdicts = (grading.evaluate(e.id, context) for e in grading.exercises(_lab_of(path)))
    return [v for v in verdicts if v.outcome is not grading.Outcome.CORRECT]


def _complete(backend: Backend, prefix: str, paths: list[Path]) -> float:
    """Run solutions in order, in one kernel and a private folder, then insist on their checks."""
    started = time.perf_counter()
    if not paths:
        return 0.0
    with tempfile.TemporaryDirectory(prefix=f"workshop-{prefix}-") as folder:
        workdir = Path(folder)  # handler files of parallel participants never collide
        _run(backend, paths, workdir, prefix)
        for path in paths:
            wrong = _unfinished(backend, prefix, path, workdir)
            if wrong:
                raise WorkshopError(f"step {_lab_of(path)} did not complete for {prefix}: {wrong[0].line}")
    return time.perf_counter() - started


def _builds_state(cell: nbformat.NotebookNode) -> bool:
    """Cells that make a step's finished state: not the demos ("Try it", tagged ``demo``) and
    not the check and report cells (complete() checks once, at the end)."""
    if "demo" in cell.get("metadata", {}).get("tags", []):
        return False
    if cell.cell_type == "code" and pacing.CHECK_CALL.search(cell.source) and ".q" in cell.source:
        return False  # a "check your understanding" answer builds nothing
    return not (cell.cell_type == "code" and cell.source.lstrip().startswith(("check(", "report(")))


def _run(backend: Backend, paths: list[Path], workdir: Path, prefix: str) -> None:
    """One notebook of the state-building cells of every solution in ``paths``, run at once:
    a kernel start and the imports are paid once, not per step."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.v4.new_notebook()
    for path in paths:
        notebook.cells += [cell for cell in nbformat.read(path, as_version=4).cells if _builds_state(cell)]
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    try:
        env = {**os.environ, **backend.environment_variables(), "WORKSHOP_PREFIX": prefix, COMPLETING: "1"}
        # the kernel's own start-up chatter would land in the calling notebook's output
        client.execute(env=env, stderr=subprocess.DEVNULL)
    except CellExecutionError as error:
        summary = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise WorkshopError(f"{', '.join(p.name for p in paths)} failed for {prefix}: {summary}") from None


def reset(step: int, backend: Backend | None = None, prefix: str | None = None, yes: bool = False) -> Any:
    """Start step ``step`` again from a clean state: ``python -m workshop reset --step N`` or a
    cell ``steps.reset(N)``.

    A learner who broke their environment should not have to debug it in the middle of a class.
    Everything with their prefix and tag goes (what they built too), the base environment is set
    up again and the solutions of the steps before ``step`` run, exactly as ``setup_env.py
    --upto N`` would. On a real account this deletes resources, so it needs ``yes=True``. In
    class mode the participant's progress from ``step`` on is forgotten and the steps before it
    are marked done, so the instructor's dashboard shows where they restart.
    """
    from workshop.account import environment, inventory

    solutions_before(step)  # an impossible step fails before anything is deleted
    backend = backend or current()
    if backend.kind == AWS and not yes:
        raise WorkshopError(
            f"Resetting deletes every resource of {resolve_prefix(prefix)} in a REAL AWS account: "
            "pass yes=True (or --yes) to confirm."
        )
    names = backend.names(prefix)
    started = time.perf_counter()
    rows = []
    for resource in inventory.find(backend, names):
        inventory.delete(backend, resource)
        rows.append({"kind": resource.kind, "name": resource.name, "status": "deleted"})
    rows += [{"kind": o.kind, "name": o.name, "status": o.status} for o in environment.provision(backend, names)]
    rows += complete(backend, names.prefix, step)
    class_ = progress.class_name()
    if class_:
        target = progress.progress_backend()
        try:
            progress.forget(target, class_, names.prefix, from_lab=step)
            record_completed(target, class_, names.prefix, range(step))
        except Exception as error:  # the reset itself succeeded; the dashboard is secondary
            print(f"(the class progress could not be updated: {type(error).__name__})")
    deleted = sum(row["status"] == "deleted" for row in rows)
    print(
        f"{names.prefix} reset to the start of step {step} in {time.perf_counter() - started:.1f} s: "
        f"{deleted} resources removed, the base environment set up"
        + (f", steps 0-{step - 1} completed from their solutions." if step else ".")
    )
    import pandas as pd  # a table in a notebook cell, text in a terminal

    return pd.DataFrame(rows, columns=["kind", "name", "status"])


def record_completed(backend: Backend, class_: str, participant: str, labs: Iterable[int]) -> int:
    """Mark every exercise of ``labs`` correct for a participant, synchronously: the steps setup
    or reset completed for them, so the dashboard shows where they really start."""
    wanted = {str(lab) for lab in labs}
    dynamodb = backend.client("dynamodb")
    count = 0
    for exercise in grading.exercises():
        if exercise.lab in wanted:
            record = progress.Record(
                participant,
                exercise.id,
                exercise.title,
                progress.CORRECT,
                "completed for you by setup",
                source=progress.SETUP,
            )
            progress.write(dynamodb, class_, record)
            count += 1
    return count
