"""Graded checks for the labs: ``check("0.1")``, ``hint("0.1")`` and ``report("0")``.

A check inspects the live backend (and, where an exercise is code, the learner's handler
file and its behaviour when invoked) and answers one of four outcomes:

- correct;
- incorrect, with a message naming the resource and what differs from what is expected;
- not attempted, when the exercise is still untouched;
- check failed, when the check itself hit an unexpected error (a bug or a broken backend,
  not a wrong answer).

Checks never depend on which cells ran before them: they read state, so a learner who
reorders, duplicates or deletes cells still gets an honest answer, and ``report`` simply
checks every exercise of the lab again. The exercises themselves live in
``workshop/teaching/checks/``, one module per lab, registered with ``@exercise``.
"""

from __future__ import annotations

import html
import importlib
import pkgutil
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from workshop.core import backend as backends
from workshop.core.errors import WorkshopError, error_code
from workshop.core.naming import Names
from workshop.teaching import progress
from workshop.teaching.verdicts import (
    CheckFunction,
    Context,
    Exercise,
    Fault,
    Faults,
    Incorrect,
    NotAttempted,
    Outcome,
    Verdict,
)

# The checks' and the notebooks' face: the registry's calls and the types a check uses.
__all__ = [
    "CheckFunction",
    "Context",
    "Exercise",
    "Fault",
    "Faults",
    "Incorrect",
    "NotAttempted",
    "Outcome",
    "Report",
    "Verdict",
    "check",
    "evaluate",
    "exercise",
    "exercises",
    "hint",
    "notebook_context",
    "question",
    "questions",
    "ready",
    "report",
]


_EXERCISES: dict[str, Exercise] = {}
_hints_shown: Counter[str] = Counter()
_pending_hints: dict[str, list[str]] = {}  # exercise id -> the hints of the faults its last check found


def exercise(
    exercise_id: str, title: str, *, solution: str, hints: tuple[str, ...]
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check. It returns a one-line confirmation when the answer is correct and
    raises ``Incorrect`` or ``NotAttempted`` with a message otherwise."""
    if not hints:
        raise ValueError(f"exercise {exercise_id} needs at least one hint")

    def register(check: CheckFunction) -> CheckFunction:
        if exercise_id in _EXERCISES and _EXERCISES[exercise_id].check.__qualname__ != check.__qualname__:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        _EXERCISES[exercise_id] = Exercise(exercise_id, title, check, hints, solution)
        return check

    return register


QUESTION_ID = re.compile(r"^(?P<lab>\d+)\.q(?P<number>\d+)$")
_QUESTIONS: dict[str, Exercise] = {}


def question(
    question_id: str, title: str, *, asked_in: str, answer: str, why: dict[str, str], hints: tuple[str, ...]
) -> None:
    """Register a "check your understanding" question (``2.q1``), asked at the end of the notebook
    ``asked_in`` ("solutions/02_idempotency.ipynb" for the lab, "notebooks/..." for the walkthrough).

    The learner answers in the notebook by setting ``q1 = "b"`` and running ``check("2.q1")``;
    ``why`` holds, for every choice, why it is right or wrong, so a wrong answer is told what it
    misses and the right one why it is right. ``hint`` and ``report`` treat it as an exercise."""
    match = QUESTION_ID.match(question_id)
    if not match:
        raise ValueError(f"a question id looks like '2.q1', not {question_id!r}")
    if answer not in why:
        raise ValueError(f"question {question_id}: the answer {answer!r} is not one of its choices {sorted(why)}")
    if not hints:
        raise ValueError(f"question {question_id} needs at least one hint")
    variable = f"q{match['number']}"

    def judge(ctx: Context) -> str:
        given = ctx.namespace.get(variable)
        if given is None or isinstance(given, type(Ellipsis)):
            raise NotAttempted(
                f"no answer yet: set {variable} = one of {', '.join(repr(c) for c in sorted(why))} "
                "and run the cell again"
            )
        choice = str(given).strip().strip("()").lower()
        if choice not in why:
            raise Incorrect(
                f"{variable} = {given!r} is not one of the choices {', '.join(repr(c) for c in sorted(why))}"
            )
        if choice != answer:
            raise Incorrect(f"not {choice!r}: {why[choice]}")
        return f"{answer!r}: {why[answer]}"

    solution = asked_in.split("/", 1)[-1]
    if question_id in _QUESTIONS and _QUESTIONS[question_id].title != title:
        raise ValueError(f"question {question_id} is registered twice")
    _QUESTIONS[question_id] = Exercise(
        question_id,
        title,
        judge,
        hints,
        solution,
        asked_in=asked_in,
        hints_exhausted=f"{answer!r}: {why[answer]}",
        answer=answer,
        choices=tuple(sorted(why)),
    )


def exercises(lab: str | None = None) -> list[Exercise]:
    """Every registered exercise (of one lab), in id order: what a lab builds, which setup and
    catch-up complete for a learner. The questions are apart: :func:`questions`."""
    _load_checks()
    chosen = [e for e in _EXERCISES.values() if lab is None or e.lab == str(lab)]
    return sorted(chosen, key=lambda e: tuple(int(part) for part in e.id.split(".")))


def questions(lab: str | None = None, asked_in: str | None = None) -> list[Exercise]:
    """The "check your understanding" questions (of one lab, asked in one notebook), in order."""
    _load_checks()
    chosen = [
        q
        for q in _QUESTIONS.values()
        if (lab is None or q.lab == str(lab)) and (asked_in is None or q.asked_in == asked_in)
    ]
    return sorted(chosen, key=lambda q: (int(q.lab), int(q.id.split(".q", 1)[1])))


def _load_checks() -> None:
    import workshop.teaching.checks as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")


def _find(exercise_id: str) -> Exercise:
    _load_checks()
    found = _EXERCISES.get(str(exercise_id)) or _QUESTIONS.get(str(exercise_id))
    if found is None:
        lab = str(exercise_id).split(".", 1)[0]
        known = ", ".join(e.id for e in exercises(lab) + questions(lab)) or ", ".join(e.id for e in exercises())
        raise WorkshopError(f"There is no exercise {exercise_id!r}; the exercises are {known}.")
    return found


def notebook_context(aws: backends.Backend | None = None, names: Names | None = None) -> Context:
    """The context of the running notebook: its globals (inside IPython) and its folder."""
    aws = aws or backends.current()
    namespace: dict[str, Any] = {}
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            namespace = shell.user_ns
    except ImportError:  # plain Python: no notebook namespace
        pass
    return Context(aws=aws, names=names or aws.names(), namespace=namespace)


def evaluate(exercise_id: str, context: Context | None = None) -> Verdict:
    """Run one check and return its verdict; never raises for a learner's mistake."""
    found = _find(exercise_id)
    context = context or notebook_context()
    started = time.perf_counter()
    faults: tuple[Fault, ...] = ()
    try:
        outcome, message = Outcome.CORRECT, found.check(context)
    except Incorrect as wrong:
        outcome, message, faults = Outcome.INCORRECT, str(wrong), wrong.faults
    except NotAttempted as untouched:
        outcome, message = Outcome.NOT_ATTEMPTED, str(untouched)
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError) as error:
        outcome, message = (
            Outcome.ERROR,
            (
                f"cannot reach the backend ({error}); on a laptop, start it with "
                "'python -m workshop start' and run the check again"
            ),
        )
    except botocore.exceptions.NoCredentialsError:
        outcome, message = Outcome.ERROR, "no AWS credentials were found for the real account; see the README"
    except botocore.exceptions.ClientError as error:
        outcome, message = Outcome.ERROR, _could_not_look(found, error)
    except Exception as error:  # a bug in the check, not the learner's answer: say so plainly
        outcome, message = (
            Outcome.ERROR,
            (
                f"the check itself failed with {type(error).__name__}: {error}. "
                f"This is not a verdict on your answer; {_SEE_TROUBLESHOOTING}"
            ),
        )
    # hint() answers what this verdict found, before the exercise's general hints
    _pending_hints[found.id] = [fault.hint for fault in faults if fault.hint]
    return Verdict(found.id, found.title, outcome, message, time.perf_counter() - started, faults)


_SEE_TROUBLESHOOTING = 'see "check failed" in TROUBLESHOOTING.md, and tell your instructor if you have one'
# What AWS answers when something is not there: a resource the lab takes as given was deleted.
_MISSING = {
    "NoSuchBucket",
    "NoSuchKey",
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NotFound",
    "NoSuchEntity",
    "NotFoundException",
}


def _could_not_look(found: Exercise, error: botocore.exceptions.ClientError) -> str:
    """A check that AWS refused to answer: a missing resource is fixed by resetting the step."""
    code = error_code(error)
    if code in _MISSING:
        return (
            f"the check could not find something this lab takes as given ({error}). If it was deleted, "
            f"steps.reset({found.lab}) in a cell (or python -m workshop reset --step {found.lab}) sets the "
            "step up again. This is not a verdict on your answer"
        )
    return (
        f"the check itself failed with {code or type(error).__name__}: {error}. This is not a verdict on your "
        f"answer; {_SEE_TROUBLESHOOTING}"
    )


def check(exercise_id: str) -> None:
    """Check one exercise and show the verdict as a single line (recorded for the instructor
    in class mode, in the background: see :mod:`workshop.teaching.progress`)."""
    verdict = _safely(lambda: evaluate(exercise_id))
    if isinstance(verdict, Verdict):
        progress.record(verdict)
    _show(verdict)


def ready(*exercise_ids: str) -> bool:
    """For a "Try it" cell that needs earlier exercises: True when they are all correct;
    otherwise say which one is not, and why, and return False (so an unsolved lab runs on)."""
    context = notebook_context()
    for exercise_id in exercise_ids:
        verdict = evaluate(exercise_id, context)
        if verdict.outcome is not Outcome.CORRECT:
            print(f"Try this once {verdict.exercise} is correct — {verdict.line}")
            return False
    return True


def hint(exercise_id: str) -> None:
    """Show the hint for what the last check of an exercise found wrong; without one (nothing
    checked yet, or its hints already shown), the next general hint: a nudge first, then more."""

    def next_hint() -> str:
        found = _find(exercise_id)
        targeted = _pending_hints.pop(found.id, None)
        if targeted:
            lines = [f"💡 {found.id} {found.title}, for what the last check found:"]
            lines += [f"  • {text}" for text in targeted]
            return "\n".join(lines)
        shown = _hints_shown[found.id]
        if shown >= len(found.hints):
            where = (
                f"the answer is {found.hints_exhausted}"
                if found.hints_exhausted
                else f"the worked answer is in solutions/{found.solution}"
            )
            return f"No more hints for {found.id}: {where}.\n" + "\n".join(
                f"  {n}. {text}" for n, text in enumerate(found.hints, 1)
            )
        _hints_shown[found.id] += 1
        return f"💡 Hint {shown + 1} of {len(found.hints)} for {found.id} {found.title}: {found.hints[shown]}"

    print(_safely(next_hint))


@dataclass(frozen=True)
class Report:
    """A lab's verdicts with the score; a table in JupyterLab, one line per exercise as text."""

    lab: str
    verdicts: tuple[Verdict, ...]

    @property
    def correct(self) -> int:
        return sum(v.outcome is Outcome.CORRECT for v in self.verdicts)

    @property
    def score(self) -> str:
        return f"Lab {self.lab} score: {self.correct} of {len(self.verdicts)} correct"

    def table(self) -> Any:
        import pandas as pd  # only the table needs pandas

        return pd.DataFrame(
            [
                {
                    "exercise": v.exercise,
                    "title": v.title,
                    "outcome": f"{v.outcome.symbol} {v.outcome.label}",
                    "detail": v.message,
                }
                for v in self.verdicts
            ]
        ).set_index("exercise")

    def __repr__(self) -> str:
        return "\n".join([self.score, *(v.line for v in self.verdicts)])

    def _repr_html_(self) -> str:
        return f"<p><b>{html.escape(self.score)}</b></p>" + self.table().to_html(justify="left")


def report(lab: str) -> Report | str:
    """Check every exercise of a lab again: a table of outcomes and the score."""

    def evaluate_lab() -> Report:
        chosen = exercises(lab) + questions(lab, asked_in=f"solutions/{_solution_of(lab)}")
        if not chosen:
            raise WorkshopError(f"There is no lab {lab!r}; labs: {', '.join(sorted({e.lab for e in exercises()}))}.")
        context = notebook_context()
        verdicts = tuple(evaluate(e.id, context) for e in chosen)
        for verdict in verdicts:
            progress.record(verdict, context.names.prefix, source="report")
        return Report(str(lab), verdicts)

    return _safely(evaluate_lab)


def _solution_of(lab: str) -> str:
    """The solution notebook of a lab (where its questions are asked), or "" for an unknown lab."""
    return next((e.solution for e in exercises(lab)), "")


def _safely(produce: Callable[[], Any]) -> Any:
    """Kit errors (an unknown id, an unreachable backend) become one line, not a traceback."""
    try:
        return produce()
    except WorkshopError as error:
        return f"⚠️ {error}"


def _show(value: Any) -> None:
    if isinstance(value, str):
        print(value)
        return
    try:
        from IPython.display import display
    except ImportError:
        print(value)
        return
    display(value)


progress.prepare()  # in class mode the recorder's client is made as a lab starts, not in its first check
