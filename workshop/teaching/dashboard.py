"""The class at a glance: the progress table read into who is on which step and what fails most."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from workshop.core import backend as backends
from workshop.core.naming import validate_prefix
from workshop.teaching.progress import CLASS_VARIABLE, CORRECT, ERROR, INCORRECT, NOT_ATTEMPTED, SETUP, SYMBOLS, records

if TYPE_CHECKING:  # learners' kernels need not import these for a check
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["Dashboard", "dashboard"]


def _exercise_key(exercise: str) -> tuple[int, int, int]:
    """Exercises of a lab in order, its "check your understanding" questions (``2.q1``) after them."""
    lab, number = exercise.split(".", 1)
    return (int(lab), 1, int(number[1:])) if number.startswith("q") else (int(lab), 0, int(number))


@dataclass
class Dashboard:
    """The class at a glance: each a DataFrame, so a notebook shows them and a test reads them."""

    grid: pd.DataFrame  # participant × exercise: ✅ ❌ ⚠️ ⏳
    steps: pd.DataFrame  # per participant: current step, exercises correct, stuck on, idle minutes
    most_failed: pd.DataFrame  # per exercise: stuck now, failed at least once, failed attempts, a typical message
    counts: pd.DataFrame  # per exercise: participants correct / incorrect / not attempted

    def chart(self) -> Figure:
        """Where the class is (participants per step) and how each exercise goes (stacked outcomes)."""
        import matplotlib.pyplot as plt

        figure, (where, how) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1, 2]})
        on_step = self.steps["current step"].value_counts().sort_index()
        where.bar([str(step) for step in on_step.index], on_step.values, color="#0969da")
        where.set(title="Participants on each step", xlabel="step", ylabel="participants")
        colours = {CORRECT: "#1a7f37", INCORRECT: "#cf222e", NOT_ATTEMPTED: "#d0d7de"}
        bottom = None
        for outcome, colour in colours.items():
            values = self.counts[outcome]
            how.bar(self.counts.index, values, bottom=bottom, color=colour, label=outcome)
            bottom = values if bottom is None else bottom + values
        how.set(title="Outcome of each exercise", xlabel="exercise", ylabel="participants")
        how.tick_params(axis="x", rotation=90)
        how.legend(loc="upper right")
        figure.tight_layout()
        plt.close(figure)  # shown by display(), not twice by the inline backend
        return figure


def dashboard(
    class_: str | None = None,
    backend: backends.Backend | None = None,
    participants: Sequence[str] = (),
    now: datetime | None = None,
    rows: Sequence[Mapping[str, Any]] | None = None,
) -> Dashboard:
    """Build the dashboard from the class's table (or from ``rows``, already read).

    ``participants`` (a roster's prefixes) adds those who have not checked anything yet, so
    a learner who never got started shows up rather than disappearing.
    """
    import pandas as pd

    if rows is None:
        class_ = class_ or os.environ.get(CLASS_VARIABLE, "")
        rows = records(backend or backends.current(), validate_prefix(class_))
    now = now or datetime.now(UTC)
    frame = pd.DataFrame(
        list(rows),
        columns=[
            "participant",
            "exercise",
            "title",
            "outcome",
            "message",
            "lab",
            "attempts",
            "failures",
            "last_at",
            "source",
        ],
    )
    people = sorted(set(participants) | set(frame["participant"]))
    exercises = sorted(set(frame["exercise"]), key=_exercise_key)

    latest = frame.pivot(index="participant", columns="exercise", values="outcome") if len(frame) else None
    grid = pd.DataFrame(SYMBOLS[NOT_ATTEMPTED], index=pd.Index(people, name="participant"), columns=exercises)
    if latest is not None:
        for exercise in exercises:
            for person, outcome in latest[exercise].dropna().items():
                grid.loc[person, exercise] = SYMBOLS.get(outcome, "?")

    step_rows = []
    for person in people:
        mine = frame[frame["participant"] == person]
        checked = mine[mine["source"] != SETUP]
        if len(mine) == 0:
            step_rows.append(
                {
                    "participant": person,
                    "current step": 0,
                    "correct": 0,
                    "stuck on": "",
                    "last check": "",
                    "idle (min)": None,
                }
            )
            continue
        recent = (checked if len(checked) else mine).sort_values(["last_at", "lab"]).iloc[-1]
        wrong = checked[checked["outcome"].isin([INCORRECT, ERROR])].sort_values("last_at")
        last_at = datetime.fromisoformat(recent["last_at"])
        current = int(recent["lab"])
        if not len(checked):  # only setup's records: they start at the step after those completed
            current = int(mine["lab"].astype(int).max()) + 1
        step_rows.append(
            {
                "participant": person,
                "current step": current,
                "correct": int((mine["outcome"] == CORRECT).sum()),
                "stuck on": wrong.iloc[-1]["exercise"] if len(wrong) else "",
                "last check": last_at.strftime("%H:%M") if len(checked) else "",
                "idle (min)": round((now - last_at).total_seconds() / 60) if len(checked) else None,
            }
        )
    steps = pd.DataFrame(
        step_rows, columns=["participant", "current step", "correct", "stuck on", "last check", "idle (min)"]
    ).set_index("participant")

    counts = pd.DataFrame(0, index=pd.Index(exercises, name="exercise"), columns=[CORRECT, INCORRECT, NOT_ATTEMPTED])
    for exercise in exercises:
        column = grid[exercise]
        counts.loc[exercise, CORRECT] = int((column == SYMBOLS[CORRECT]).sum())
        counts.loc[exercise, INCORRECT] = int(column.isin([SYMBOLS[INCORRECT], SYMBOLS[ERROR]]).sum())
        counts.loc[exercise, NOT_ATTEMPTED] = len(column) - counts.loc[exercise, [CORRECT, INCORRECT]].sum()

    failed_rows = []
    for exercise in exercises:
        mine = frame[frame["exercise"] == exercise]
        stuck = mine[mine["outcome"].isin([INCORRECT, ERROR])]
        ever = mine[mine["failures"].astype(float) > 0]
        if not len(ever):
            continue
        typical = stuck["message"].mode()  # only the latest message is kept: the stuck ones say why
        failed_rows.append(
            {
                "exercise": exercise,
                "title": mine["title"].iloc[0],
                "stuck now": len(stuck),
                "failed at least once": len(ever),
                "failed attempts": int(mine["failures"].astype(float).sum()),
                "typical message": typical.iloc[0] if len(typical) else "",
            }
        )
    most_failed = pd.DataFrame(
        failed_rows,
        columns=["exercise", "title", "stuck now", "failed at least once", "failed attempts", "typical message"],
    )
    most_failed = most_failed.sort_values(
        ["stuck now", "failed at least once", "failed attempts"], ascending=False, kind="stable"
    ).set_index("exercise")
    return Dashboard(grid=grid, steps=steps, most_failed=most_failed, counts=counts)
