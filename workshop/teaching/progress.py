"""Class progress: each check's outcome recorded for the instructor (read by :mod:`.dashboard`).

In a class the instructor cannot look over forty shoulders. So every ``check()`` and
``report()`` of a participant writes its verdict to one DynamoDB table of the class, on the
same backend as everything else, and :func:`workshop.teaching.dashboard.dashboard` turns that
table into who is on which step and which exercise most people fail.

Class mode is concrete: ``WORKSHOP_CLASS=<class>`` (printed in every participant's connection
line by ``setup_env.py``) turns recording on; ``WORKSHOP_PROGRESS=off`` turns it off again.
Outside a class nothing is recorded and nothing is contacted.

Recording must never cost a learner anything: a verdict is handed to one background thread
and the check returns at once; that thread writes with short timeouts and one retry, swallows
every failure and says so once, quietly (and drops records for a while after a failure, so
a dead endpoint costs one timeout, not one per check). At exit it is given a bounded moment to finish.

The table is ``<class>-progress``, tagged ``workshop:env=<class>``: a participant's teardown
(prefix ``<class>-01``, tag ``<class>-01``) never matches it, the class's teardown does.
``WORKSHOP_PROGRESS_ENDPOINT`` sends the records to another AWS-compatible endpoint (the
instructor's emulator) while the labs run on the learner's own laptop.
"""

from __future__ import annotations

import atexit
import os
import queue
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import botocore.config
from botocore.exceptions import ClientError

from workshop.account import environment
from workshop.core import backend as backends
from workshop.core.errors import error_code
from workshop.core.naming import PROGRESS_TABLE_PURPOSE, TAG_KEY, Names, validate_prefix


class Verdict(Protocol):
    """What is recorded of a check's verdict (:class:`workshop.teaching.grading.Verdict` has it)."""

    exercise: str
    title: str
    message: str
    seconds: float

    @property
    def outcome(self) -> Any: ...  # has a ``label``


CLASS_VARIABLE = "WORKSHOP_CLASS"
SWITCH_VARIABLE = "WORKSHOP_PROGRESS"
ENDPOINT_VARIABLE = "WORKSHOP_PROGRESS_ENDPOINT"
TABLE_PURPOSE = PROGRESS_TABLE_PURPOSE
OFF_VALUES = ("off", "0", "false", "no")
MESSAGE_LIMIT = 400  # characters of a verdict's message kept: enough to see the typical mistake
EXIT_WAIT_SECONDS = 2.0  # how long a finishing kernel waits for records still queued
QUEUE_LIMIT = 1000  # beyond this, records are dropped rather than held in memory
PAUSE_SECONDS = 30.0  # after a failed write, records to that backend are dropped this long

CORRECT, INCORRECT, NOT_ATTEMPTED, ERROR = "correct", "incorrect", "not attempted", "check failed"
SYMBOLS = {CORRECT: "✅", INCORRECT: "❌", NOT_ATTEMPTED: "⏳", ERROR: "⚠️"}
SETUP = "setup"  # the source of records written for steps setup or reset completed for a participant

# Short timeouts and a single retry: a record is worth less than a learner's second.
_WRITE_CONFIG = botocore.config.Config(
    connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"}
)


def class_name(environ: Mapping[str, str] = os.environ) -> str | None:
    """The class this process records for, or None: not in class mode, or switched off."""
    name = environ.get(CLASS_VARIABLE, "").strip()
    if not name or environ.get(SWITCH_VARIABLE, "").strip().lower() in OFF_VALUES:
        return None
    try:
        return validate_prefix(name)
    except Exception:
        return None  # a mistyped class name must not break a check; nothing is recorded


def table_name(class_: str) -> str:
    return Names(class_).table(TABLE_PURPOSE)


def progress_backend(environ: Mapping[str, str] = os.environ) -> backends.Backend:
    """Where the records go: the participant's backend, or the instructor's endpoint."""
    url = environ.get(ENDPOINT_VARIABLE, "").strip()
    if url:
        region = environ.get("AWS_DEFAULT_REGION") or backends.LOCAL_REGION
        # the instructor's class emulator knows the participant by the key setup issued them
        return backends.Backend(backends.ENDPOINT, url.rstrip("/"), region, backends.participant_key(environ))
    return backends.current()


def ensure_table(backend: backends.Backend, class_: str) -> str:
    """Create the class's progress table when missing ("created"), else "exists"; waits until active."""
    return environment.ensure_table(
        backend,
        table_name(class_),
        [("participant", "HASH"), ("exercise", "RANGE")],
        [{"Key": TAG_KEY, "Value": class_}],
    )


# ---- writing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One check's outcome for one participant: what goes into the table."""

    participant: str
    exercise: str
    title: str
    outcome: str  # one of CORRECT, INCORRECT, NOT_ATTEMPTED, ERROR
    message: str = ""
    seconds: float = 0.0
    source: str = "check"
    at: datetime | None = None

    @classmethod
    def of(cls, verdict: Verdict, participant: str, source: str = "check") -> Record:
        return cls(
            participant,
            verdict.exercise,
            verdict.title,
            verdict.outcome.label,
            verdict.message,
            verdict.seconds,
            source,
        )


def write(dynamodb: Any, class_: str, record: Record) -> None:
    """One UpdateItem: the latest outcome, first and last time, attempts and failures counted."""
    at = (record.at or datetime.now(UTC)).isoformat(timespec="seconds")
    failed = record.outcome in (INCORRECT, ERROR)
    counted = record.source != SETUP
    values: dict[str, Any] = {
        ":outcome": {"S": record.outcome},
        ":message": {"S": record.message[:MESSAGE_LIMIT] or "-"},
        ":title": {"S": record.title or "-"},
        ":lab": {"S": record.exercise.split(".", 1)[0]},
        ":at": {"S": at},
        ":seconds": {"N": f"{record.seconds:.3f}"},
        ":source": {"S": record.source},
        ":attempts": {"N": "1" if counted else "0"},
        ":failures": {"N": "1" if failed else "0"},
    }
    expression = (
        "SET outcome = :outcome, message = :message, title = :title, lab = :lab, last_at = :at, "
        "first_at = if_not_exists(first_at, :at), seconds = :seconds, #source = :source"
    )
    if record.outcome == CORRECT:
        expression += ", correct_at = if_not_exists(correct_at, :at)"
    dynamodb.update_item(
        TableName=table_name(class_),
        Key={"participant": {"S": record.participant}, "exercise": {"S": record.exercise}},
        UpdateExpression=expression + " ADD attempts :attempts, failures :failures",
        ExpressionAttributeNames={"#source": "source"},
        ExpressionAttributeValues=values,
    )


class _Recorder:
    """One background thread per process that writes records; checks only enqueue."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[backends.Backend, str, Record | None]] = queue.Queue(QUEUE_LIMIT)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._clients: dict[backends.Backend, Any] = {}
        self._paused_until: dict[backends.Backend, float] = {}
        self.warned = False
        self.written = 0
        self.failed = 0

    def submit(self, backend: backends.Backend, class_: str, record: Record | None) -> None:
        """Queue a record; ``None`` only makes the writer's client (see :func:`prepare`)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="workshop-progress", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait((backend, class_, record))
        except queue.Full:
            self.failed += 1  # a backlog this long means the table is unreachable anyway

    def _client(self, backend: backends.Backend) -> Any:
        if backend not in self._clients:  # only this thread uses it, so one client suffices
            self._clients[backend] = backend.session().client(
                "dynamodb", endpoint_url=backend.endpoint_url, config=_WRITE_CONFIG
            )
        return self._clients[backend]

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                backend, class_, record = job
                if record is None:
                    self._client(backend)
                elif time.monotonic() < self._paused_until.get(backend, 0.0):
                    self.failed += 1  # it just failed: a dead endpoint must not cost seconds per check
                else:
                    write(self._client(backend), class_, record)
                    self.written += 1
            except Exception as error:  # whatever happens, a check must never notice
                self.failed += 1
                self._paused_until[job[0]] = time.monotonic() + PAUSE_SECONDS
                self._warn_once(error)
            finally:
                self._queue.task_done()

    def _warn_once(self, error: Exception) -> None:
        if self.warned:
            return
        self.warned = True
        reason = (error_code(error) if isinstance(error, ClientError) else "") or type(error).__name__
        print(
            f"(progress for your instructor was not recorded: {reason}; your checks are not affected)", file=sys.stderr
        )

    def flush(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for queued records; True when none is left."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


_recorder = _Recorder()
atexit.register(lambda: _recorder.flush(EXIT_WAIT_SECONDS))


def record(verdict: Verdict, participant: str | None = None, source: str = "check") -> bool:
    """Hand a verdict to the background writer when in class mode; True when it was queued.

    Never raises and never waits on the network: called from every check.
    """
    try:
        class_ = class_name()
        if class_ is None:
            return False
        if participant is None:
            from workshop.core.naming import resolve_prefix

            participant = resolve_prefix()
        _recorder.submit(progress_backend(), class_, Record.of(verdict, participant, source))
        return True
    except Exception as error:
        _recorder._warn_once(error)
        return False


def prepare() -> None:
    """In class mode, make the writer's client now, when the lab's first cell imports the kit.

    Creating a boto3 client is a few hundred milliseconds of CPU; done in the background during
    a learner's first check it would compete with that check for the interpreter. At import time
    nobody is waiting on a verdict.
    """
    try:
        class_ = class_name()
        if class_ is not None:
            _recorder.submit(progress_backend(), class_, None)
    except Exception as error:
        _recorder._warn_once(error)


def flush(timeout: float = EXIT_WAIT_SECONDS) -> bool:
    """Wait (bounded) until queued records are written: for tests and before a dashboard refresh."""
    return _recorder.flush(timeout)


def forget(backend: backends.Backend, class_: str, participant: str, from_lab: int) -> int:
    """Delete a participant's records of lab ``from_lab`` on (a reset starts them there again)."""
    dynamodb = backend.client("dynamodb")
    gone = 0
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table_name(class_),
        KeyConditionExpression="participant = :p",
        ExpressionAttributeValues={":p": {"S": participant}},
    )
    for page in pages:
        for item in page.get("Items", []):
            if int(item["exercise"]["S"].split(".", 1)[0]) >= from_lab:
                dynamodb.delete_item(
                    TableName=table_name(class_), Key={"participant": item["participant"], "exercise": item["exercise"]}
                )
                gone += 1
    return gone


# ---- reading ---------------------------------------------------------------------------


def records(backend: backends.Backend, class_: str) -> list[dict[str, Any]]:
    """Every record of the class as plain dicts (one Scan, every page)."""
    rows = []
    for page in backend.client("dynamodb").get_paginator("scan").paginate(TableName=table_name(class_)):
        for item in page.get("Items", []):
            rows.append({key: _plain(value) for key, value in item.items()})
    return rows


def _plain(value: Mapping[str, Any]) -> Any:
    ((kind, content),) = value.items()
    return float(content) if kind == "N" else content
