"""Asynchronous invocation, as the Lambda service does it for Event invokes, S3 and SNS.

Events wait in a queue, run in the background, and on failure are retried
(MaximumRetryAttempts, default 2) after AWS's back-off of one then two minutes —
compressed by the emulator's time scale. An event that runs out of retries or of age
(MaximumEventAgeInSeconds, default six hours) goes to the OnFailure destination or,
failing that, the function's dead-letter queue; a success goes to OnSuccess
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html).

Each function has a queue of its own and its own concurrency, as on AWS
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html): one shared emulator
serves a class, and one participant's slow handler must not hold back another's uploads.
Events run on threads started when there is an event to run, at most ``workers`` at once
overall and the per-function concurrency per function; a free slot goes to the function
with the fewest events running, the longest unserved first. The last quarter of the slots
is kept for functions with nothing running, so a few slow functions at their concurrency
cannot take every slot. An idle function costs no thread; a thread with nothing to run
waits a moment for the next event, then ends.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workshop.aws import events as aws_events
from workshop.emulator.functions.models import FunctionSpec, Invocation
from workshop.emulator.settings import Settings

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21600
# before the second and the third attempt, as AWS states it:
# https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
RETRY_BACKOFF_SECONDS = (60, 120)
# Events running at once over every function: a class of 40 with a function or two busy each,
# without a worker process per queued event on a laptop's few cores.
MAX_CONCURRENT_INVOCATIONS = 32
# How long a thread with nothing to run waits for the next event: a burst's events are handed
# to waiting threads, as starting a thread in each submitting request made a burst of 200 Event
# invokes half again slower than the four fixed threads before.
IDLE_THREAD_SECONDS = 2.0


@dataclass(order=True)
class _Pending:
    due: float
    sequence: int
    region: str = field(compare=False)
    function: str = field(compare=False)
    payload: bytes = field(compare=False)
    request_id: str = field(compare=False)
    enqueued: float = field(compare=False)
    attempts: int = field(default=0, compare=False)
    backoff_aws: float = field(default=0.0, compare=False)  # AWS seconds of back-off waited so far
    backoff_real: float = field(default=0.0, compare=False)  # the same, compressed, as really waited
    trace: str | None = field(default=None, compare=False)  # the trace header that came with the event
    delivery: str | None = field(default=None, compare=False)  # the emulator's word on how it came
    received_at: float = field(default_factory=time.time, compare=False)  # epoch seconds, for its trace

    @property
    def key(self) -> tuple[str, str]:
        """The function whose concurrency the event uses: its name, from a name, an ARN or
        a partial ARN, with or without a qualifier (versions share their function's)."""
        name = self.function.split(":function:", 1)[-1] if ":function:" in self.function else self.function
        return self.region, name.split(":", 1)[0]


@dataclass(frozen=True)
class AsyncHooks:
    """What the invoker needs from the rest of the emulator."""

    resolve: Callable[[str, str], FunctionSpec]  # (region, name or ARN) -> spec
    # (spec, payload, request id, trace header, the emulator's notes for the trace, received at)
    invoke: Callable[[FunctionSpec, bytes, str, str | None, dict[str, Any], float], Invocation]
    invoke_config: Callable[[str, str], dict[str, Any]]  # (region, name) -> EventInvokeConfig
    dead_letter_target: Callable[[str, str], str | None]  # (region, name) -> ARN
    send: Callable[[str, str, dict[str, Any]], None]  # (target ARN, message body, message attributes)


class AsyncInvoker:
    def __init__(self, hooks: AsyncHooks, settings: Settings, workers: int = MAX_CONCURRENT_INVOCATIONS) -> None:
        self._hooks = hooks
        self._settings = settings
        self._slots = max(1, workers)
        self._reserved = self._slots // 4  # for functions with nothing running
        self._per_function = max(1, settings.lambda_concurrency)  # the runtime's pool per function
        self._ready: dict[tuple[str, str], deque[_Pending]] = {}  # due now, per function, oldest first
        self._delayed: list[_Pending] = []  # a heap by due time: retries waiting out their back-off
        self._running: dict[int, _Pending] = {}  # by id(): events being attempted now
        self._running_per: dict[tuple[str, str], int] = {}
        self._served: dict[tuple[str, str], int] = {}  # when each function last got a slot
        self._sequence = itertools.count()
        lock = threading.RLock()
        self._condition = threading.Condition(lock)  # the timer waits on it for the next retry due
        self._has_work = threading.Condition(lock)  # threads with nothing to run wait on it
        self._handoff: deque[_Pending] = deque()  # taken (counted running) for a waiting thread
        self._idle_threads = 0  # waiting for an event and not yet handed one
        self._timer: threading.Thread | None = None  # alive while retries wait
        self._stopping = False

    def submit(
        self,
        region: str,
        function: str,
        payload: bytes,
        request_id: str | None = None,
        trace: str | None = None,
        delivery: str | None = None,
    ) -> str:
        """Queue one event for a function (name or ARN); returns the request id. ``trace``: the
        trace header the event came with; ``delivery``: how it came, in the emulator's words
        ("duplicate": a copy the teaching switch added), for the trace's annotations."""
        request_id = request_id or str(uuid.uuid4())
        now = time.monotonic()
        self._push(
            _Pending(
                now, next(self._sequence), region, function, payload, request_id, now, trace=trace, delivery=delivery
            )
        )
        return request_id

    def idle(self) -> bool:
        """Nothing queued or running (tests and benchmarks wait on this)."""
        with self._condition:
            return not self._ready and not self._delayed and not self._running

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
            self._has_work.notify_all()

    def _push(self, pending: _Pending) -> None:
        with self._condition:
            self._queue(pending)
            self._dispatch()

    def _queue(self, pending: _Pending) -> None:
        """Into its function's queue, or to wait out its back-off (the condition held)."""
        if pending.due <= time.monotonic():
            self._ready.setdefault(pending.key, deque()).append(pending)
            return
        heapq.heappush(self._delayed, pending)
        if self._timer is None:
            self._timer = threading.Thread(target=self._wait_for_due, daemon=True, name="async-invoke-timer")
            self._timer.start()
        self._condition.notify_all()

    def _wait_for_due(self) -> None:
        """Move retries to their function's queue when their back-off ends; gone when none wait."""
        with self._condition:
            while self._delayed and not self._stopping:
                self._condition.wait(self._delayed[0].due - time.monotonic())
                self._dispatch()
            self._timer = None

    def _dispatch(self) -> None:
        """Hand every event that may run now to a waiting thread, else to a new one (the
        condition held). A thread is started only when every thread has an event: never more
        threads than slots."""
        while (pending := self._take()) is not None:
            if self._idle_threads:
                self._idle_threads -= 1  # whichever waiting thread takes it, one fewer waits
                self._handoff.append(pending)
                self._has_work.notify()
            else:
                threading.Thread(target=self._work, args=(pending,), daemon=True, name="async-invoke").start()

    def _handed(self) -> _Pending | None:
        """Wait a moment for an event handed over; None when none came (the thread ends)."""
        with self._condition:
            self._idle_threads += 1
            deadline = time.monotonic() + IDLE_THREAD_SECONDS
            while not self._handoff:
                remaining = deadline - time.monotonic()
                if self._stopping or remaining <= 0:
                    self._idle_threads -= 1
                    return None
                self._has_work.wait(remaining)
            return self._handoff.popleft()

    def _take(self) -> _Pending | None:
        """The next event to run, counted as running; None when none may start now (the
        condition held)."""
        now = time.monotonic()
        while self._delayed and self._delayed[0].due <= now:
            due = heapq.heappop(self._delayed)
            self._ready.setdefault(due.key, deque()).append(due)
        free = self._slots - len(self._running)
        if self._stopping or free <= 0:
            return None
        chosen, best = None, None
        for key in self._ready:
            running = self._running_per.get(key, 0)
            if running >= self._per_function or (running and free <= self._reserved):
                continue
            rank = (running, self._served.get(key, -1))
            if best is None or rank < best:
                chosen, best = key, rank
        if chosen is None:
            return None
        queue = self._ready[chosen]
        pending = queue.popleft()
        if not queue:
            del self._ready[chosen]
        self._running[id(pending)] = pending
        self._running_per[chosen] = self._running_per.get(chosen, 0) + 1
        self._served[chosen] = next(self._sequence)
        return pending

    def _done(self, pending: _Pending) -> None:
        """An attempt ended (the condition held): its slot and its function's are free again."""
        self._running.pop(id(pending), None)
        key = pending.key
        self._running_per[key] -= 1
        if not self._running_per[key]:
            del self._running_per[key]
            if key not in self._ready:
                self._served.pop(key, None)  # an idle function leaves nothing behind

    def saved(self) -> list[dict[str, Any]]:
        """Every event not yet done with, for the emulator's saved state. One being attempted
        now is saved as due again: AWS retries an invocation its host lost."""
        now = time.monotonic()
        with self._condition:
            waiting = [p for queue in self._ready.values() for p in queue] + list(self._delayed)
            return [_saved(p, now, due_in=0.0) for p in self._running.values()] + [
                _saved(p, now, due_in=max(0.0, p.due - now)) for p in waiting
            ]

    def resume(self, saved: list[dict[str, Any]]) -> None:
        """Queue the events of a saved state again, keeping their age, attempts and back-off."""
        now = time.monotonic()
        for event in saved:
            self._push(
                _Pending(
                    now + event["due_in"],
                    next(self._sequence),
                    event["region"],
                    event["function"],
                    event["payload"],
                    event["request_id"],
                    now - event["age"],
                    event["attempts"],
                    event["backoff_aws"],
                    event["backoff_real"],
                    event.get("trace"),
                    event.get("delivery"),
                    event.get("received_at") or time.time() - event["age"],
                )
            )

    def _work(self, pending: _Pending | None) -> None:
        """Run events while there are any for this thread; end after a moment without."""
        while pending is not None or (pending := self._handed()) is not None:
            again = False
            try:
                again = self._attempt(pending)
            except Exception as error:  # never lose an event's slot to one bad event
                print(
                    f"async invocation {pending.request_id} of {pending.function} failed to run: {error!r}", flush=True
                )
            finally:
                with self._condition:
                    self._done(pending)
                    if again:  # queued as its attempt ends, under one lock: saved exactly once
                        self._queue(pending)
                    pending = self._take()
                    self._dispatch()  # a freed slot may let more than this thread's next event start

    def _attempt(self, pending: _Pending) -> bool:
        """One attempt at an event; True when it is to be tried again after its back-off."""
        hooks, scaled = self._hooks, self._settings.scaled
        try:
            spec = hooks.resolve(pending.region, pending.function)
        except LookupError:
            return False  # the function was deleted while its event waited: AWS drops it too
        config = hooks.invoke_config(pending.region, spec.name)
        max_retries = int(config.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS))
        max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_SECONDS))
        # The age in AWS time: back-off waits were compressed, so they count as AWS's; time spent
        # queued behind other events (a backlog of uploads) is real time and counts as it is.
        # Comparing the real age with a compressed six hours (43 s) dropped a backlog's events.
        age = time.monotonic() - pending.enqueued - pending.backoff_real + pending.backoff_aws
        if age > max_age:
            self._failed(spec, pending, config, "EventAgeExceeded", None)
            return False
        pending.attempts += 1
        notes = {
            "emulator_delivery": pending.delivery,
            "emulator_attempt": pending.attempts if pending.attempts > 1 else None,
        }
        result = hooks.invoke(spec, pending.payload, pending.request_id, pending.trace, notes, pending.received_at)
        if not result.function_error:
            self._succeeded(spec, pending, config, result)
            return False
        if pending.attempts <= max_retries:
            backoff = RETRY_BACKOFF_SECONDS[min(pending.attempts, len(RETRY_BACKOFF_SECONDS)) - 1]
            pending.backoff_aws += backoff
            pending.backoff_real += scaled(backoff)
            pending.due = time.monotonic() + scaled(backoff)
            pending.sequence = next(self._sequence)
            return True
        self._failed(spec, pending, config, "RetriesExhausted", result)
        return False

    def _succeeded(self, spec: FunctionSpec, pending: _Pending, config: dict[str, Any], result: Invocation) -> None:
        target = config.get("DestinationConfig", {}).get("OnSuccess", {}).get("Destination")
        if target:
            self._hooks.send(target, json.dumps(self._record(spec, pending, "Success", result)), {})

    def _failed(
        self, spec: FunctionSpec, pending: _Pending, config: dict[str, Any], condition: str, result: Invocation | None
    ) -> None:
        target = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if target:
            self._hooks.send(target, json.dumps(self._record(spec, pending, condition, result)), {})
            return
        dead_letter = self._hooks.dead_letter_target(pending.region, spec.name)
        if dead_letter:
            error = _error_of(result)
            self._hooks.send(
                dead_letter,
                pending.payload.decode("utf-8", errors="replace"),
                {
                    "RequestID": {"DataType": "String", "StringValue": pending.request_id},
                    "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                    "ErrorMessage": {"DataType": "String", "StringValue": error.get("errorMessage", condition)[:1024]},
                },
            )

    @staticmethod
    def _record(spec: FunctionSpec, pending: _Pending, condition: str, result: Invocation | None) -> dict[str, Any]:
        return aws_events.async_destination_record(
            request_id=pending.request_id,
            function_arn=f"{spec.arn}:{spec.version}",
            condition=condition,
            approximate_invoke_count=pending.attempts,
            request_payload=_json_or_text(pending.payload),
            response_payload=_json_or_text(result.payload) if result else None,
            function_error="Unhandled" if result and result.function_error else None,
            executed_version=spec.version,
            with_response=result is not None,
        )


def _saved(pending: _Pending, now: float, due_in: float) -> dict[str, Any]:
    return {
        "region": pending.region,
        "function": pending.function,
        "payload": pending.payload,
        "request_id": pending.request_id,
        "age": now - pending.enqueued,
        "due_in": due_in,
        "attempts": pending.attempts,
        "backoff_aws": pending.backoff_aws,
        "backoff_real": pending.backoff_real,
        "trace": pending.trace,
        "delivery": pending.delivery,
        "received_at": pending.received_at,
    }


def _json_or_text(payload: bytes) -> Any:
    try:
        return json.loads(payload) if payload else None
    except ValueError:
        return payload.decode("utf-8", errors="replace")


def _error_of(result: Invocation | None) -> dict[str, Any]:
    value = _json_or_text(result.payload) if result else None
    return value if isinstance(value, dict) else {}
