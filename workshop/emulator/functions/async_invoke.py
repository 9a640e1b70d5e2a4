"""Asynchronous invocation, as the Lambda service does it for Event invokes, S3 and SNS.

Events wait in a queue, run in the background, and on failure are retried
(MaximumRetryAttempts, default 2) after AWS's back-off of one then two minutes —
compressed by the emulator's time scale. An event that runs out of retries or of age
(MaximumEventAgeInSeconds, default six hours) goes to the OnFailure destination or,
failing that, the function's dead-letter queue; a success goes to OnSuccess.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workshop.aws import events as aws_events
from workshop.emulator.functions.models import FunctionSpec, Invocation
from workshop.emulator.settings import Settings

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21600
RETRY_BACKOFF_SECONDS = (60, 120)  # before the second and the third attempt


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


@dataclass(frozen=True)
class AsyncHooks:
    """What the invoker needs from the rest of the emulator."""

    resolve: Callable[[str, str], FunctionSpec]  # (region, name or ARN) -> spec
    invoke: Callable[[FunctionSpec, bytes, str], Invocation]  # (spec, payload, request id)
    invoke_config: Callable[[str, str], dict[str, Any]]  # (region, name) -> EventInvokeConfig
    dead_letter_target: Callable[[str, str], str | None]  # (region, name) -> ARN
    send: Callable[[str, str, dict[str, Any]], None]  # (target ARN, message body, message attributes)


class AsyncInvoker:
    def __init__(self, hooks: AsyncHooks, settings: Settings, workers: int = 4) -> None:
        self._hooks = hooks
        self._settings = settings
        self._heap: list[_Pending] = []
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._stopping = False
        self._running: dict[int, _Pending] = {}  # by id(): events being attempted now
        self._threads = [
            threading.Thread(target=self._work, daemon=True, name=f"async-invoke-{i}") for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, region: str, function: str, payload: bytes, request_id: str | None = None) -> str:
        """Queue one event for a function (name or ARN); returns the request id."""
        request_id = request_id or str(uuid.uuid4())
        now = time.monotonic()
        self._push(_Pending(now, next(self._sequence), region, function, payload, request_id, now))
        return request_id

    def idle(self) -> bool:
        """Nothing queued or running (tests and benchmarks wait on this)."""
        with self._condition:
            return not self._heap and not self._running

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()

    def _push(self, pending: _Pending) -> None:
        with self._condition:
            heapq.heappush(self._heap, pending)
            self._condition.notify()

    def _next(self) -> _Pending | None:
        with self._condition:
            while not self._stopping:
                if self._heap and self._heap[0].due <= time.monotonic():
                    pending = heapq.heappop(self._heap)
                    self._running[id(pending)] = pending
                    return pending
                timeout = self._heap[0].due - time.monotonic() if self._heap else None
                self._condition.wait(timeout)
            return None

    def saved(self) -> list[dict[str, Any]]:
        """Every event not yet done with, for the emulator's saved state. One being attempted
        now is saved as due again: AWS retries an invocation its host lost."""
        now = time.monotonic()
        with self._condition:
            queued = {id(p) for p in self._heap}  # a retry is queued again before its attempt ends
            running = [p for key, p in self._running.items() if key not in queued]
            return [_saved(p, now, due_in=0.0) for p in running] + [
                _saved(p, now, due_in=max(0.0, p.due - now)) for p in self._heap
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
                )
            )

    def _work(self) -> None:
        while (pending := self._next()) is not None:
            try:
                self._attempt(pending)
            except Exception as error:  # never lose the worker thread to one bad event
                print(
                    f"async invocation {pending.request_id} of {pending.function} failed to run: {error!r}", flush=True
                )
            finally:
                with self._condition:
                    self._running.pop(id(pending), None)
                    self._condition.notify_all()

    def _attempt(self, pending: _Pending) -> None:
        hooks, scaled = self._hooks, self._settings.scaled
        try:
            spec = hooks.resolve(pending.region, pending.function)
        except LookupError:
            return  # the function was deleted while its event waited: AWS drops it too
        config = hooks.invoke_config(pending.region, spec.name)
        max_retries = int(config.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS))
        max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_SECONDS))
        # The age in AWS time: back-off waits were compressed, so they count as AWS's; time spent
        # queued behind other events (a backlog of uploads) is real time and counts as it is.
        # Comparing the real age with a compressed six hours (43 s) dropped a backlog's events.
        age = time.monotonic() - pending.enqueued - pending.backoff_real + pending.backoff_aws
        if age > max_age:
            self._failed(spec, pending, config, "EventAgeExceeded", None)
            return
        pending.attempts += 1
        result = hooks.invoke(spec, pending.payload, pending.request_id)
        if not result.function_error:
            self._succeeded(spec, pending, config, result)
            return
        if pending.attempts <= max_retries:
            backoff = RETRY_BACKOFF_SECONDS[min(pending.attempts, len(RETRY_BACKOFF_SECONDS)) - 1]
            pending.backoff_aws += backoff
            pending.backoff_real += scaled(backoff)
            pending.due = time.monotonic() + scaled(backoff)
            pending.sequence = next(self._sequence)
            self._push(pending)
            return
        self._failed(spec, pending, config, "RetriesExhausted", result)

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
    }


def _json_or_text(payload: bytes) -> Any:
    try:
        return json.loads(payload) if payload else None
    except ValueError:
        return payload.decode("utf-8", errors="replace")


def _error_of(result: Invocation | None) -> dict[str, Any]:
    value = _json_or_text(result.payload) if result else None
    return value if isinstance(value, dict) else {}
