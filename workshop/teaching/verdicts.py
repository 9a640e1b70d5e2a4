"""What a check says: its outcome, the faults it found, and the verdict shown to the learner."""

from __future__ import annotations

import enum
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workshop.core import backend as backends
from workshop.core.naming import Names

__all__ = ["CheckFunction", "Context", "Exercise", "Fault", "Faults", "Incorrect", "NotAttempted", "Outcome", "Verdict"]


class Outcome(enum.Enum):
    CORRECT = ("correct", "✅", "#1a7f37")
    INCORRECT = ("incorrect", "❌", "#cf222e")
    NOT_ATTEMPTED = ("not attempted", "⏳", "#6e7781")
    ERROR = ("check failed", "⚠️", "#9a6700")

    def __init__(self, label: str, symbol: str, colour: str) -> None:
        self.label, self.symbol, self.colour = label, symbol, colour


@dataclass(frozen=True)
class Fault:
    """One thing wrong with an answer, and (when the check knows it) the hint that addresses it."""

    message: str
    hint: str | None = None


class Incorrect(Exception):
    """Raised by a check: the exercise was tried and something specific is wrong — or several
    things, most important first, each with the hint that addresses it:
    ``raise Incorrect("the table is not tagged ...", hint="Tags=[...] on create_table")``."""

    def __init__(self, *faults: str | Fault, hint: str | None = None) -> None:
        if not faults:
            raise ValueError("Incorrect needs at least one fault")
        self.faults = tuple(f if isinstance(f, Fault) else Fault(str(f), hint) for f in faults)
        super().__init__(_describe(self.faults))


def _describe(faults: tuple[Fault, ...]) -> str:
    if len(faults) == 1:
        return faults[0].message
    return " ".join(f"({number}) {fault.message}" for number, fault in enumerate(faults, 1))


class Faults:
    """What a check found wrong so far, so it can report every fault and not only the first:
    ``faults.add(message, hint=...)`` for each, then ``faults.raise_any()``."""

    def __init__(self) -> None:
        self.found: list[Fault] = []

    def add(self, message: str, hint: str | None = None) -> None:
        self.found.append(Fault(message, hint))

    def raise_any(self) -> None:
        if self.found:
            raise Incorrect(*self.found)


class NotAttempted(Exception):
    """Raised by a check: the exercise is still untouched."""


@dataclass
class Context:
    """What a check may look at: the backend, the participant's names, and the learner's
    notebook (its global names and its folder, where handler files are written)."""

    aws: backends.Backend
    names: Names
    namespace: dict[str, Any] = field(default_factory=dict)
    workdir: Path = field(default_factory=Path.cwd)

    def client(self, service: str) -> Any:
        return self.aws.client(service)


CheckFunction = Callable[[Context], str]


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    check: CheckFunction
    hints: tuple[str, ...]
    solution: str  # the solution notebook that holds the worked answer
    asked_in: str = ""  # a question's notebook ("solutions/..." or "notebooks/..."); empty for a lab exercise
    hints_exhausted: str = ""  # what a question's last hint gives away: its answer and why
    answer: str = ""  # a question's right choice ("b"); empty for a lab exercise
    choices: tuple[str, ...] = ()  # a question's choices, the letters its why explains

    @property
    def lab(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass(frozen=True)
class Verdict:
    exercise: str
    title: str
    outcome: Outcome
    message: str
    seconds: float = 0.0
    faults: tuple[Fault, ...] = ()

    @property
    def line(self) -> str:
        return f"{self.outcome.symbol} {self.exercise} {self.title}: {self.outcome.label} — {self.message}"

    def __repr__(self) -> str:
        return self.line

    def _repr_html_(self) -> str:
        outcome = self.outcome
        detail = html.escape(self.message)
        if len(self.faults) > 1:
            detail = (
                '<ol style="margin:2px 0">'
                + "".join(f"<li>{html.escape(f.message)}</li>" for f in self.faults)
                + "</ol>"
            )
        return (
            f'<div style="border-left:4px solid {outcome.colour};padding:2px 8px">{outcome.symbol} '
            f"<b>{html.escape(self.exercise)} {html.escape(self.title)}</b>: "
            f'<b style="color:{outcome.colour}">{outcome.label}</b> — {detail}</div>'
        )
