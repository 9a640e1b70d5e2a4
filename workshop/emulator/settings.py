"""The emulator's knobs: compressed time, concurrency, and the teaching switches (chaos).

Read from environment variables of ``python -m workshop serve``; the chaos switches can
also be changed while it runs with ``POST /_workshop/chaos`` (see :mod:`workshop.lab_helpers.chaos`).
"""

from __future__ import annotations

import os
import random
import threading
from dataclasses import dataclass, field
from typing import Any

FAILING_SOURCES = ("async", "stream", "sqs")  # the invocations Lambda retries by itself

# AWS waits minutes between asynchronous retries; a workshop cannot. Every AWS delay
# (retry back-off, event age, batching windows) is multiplied by this factor.
DEFAULT_TIME_SCALE = 0.002


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None


@dataclass(frozen=True)
class Settings:
    time_scale: float = DEFAULT_TIME_SCALE
    lambda_concurrency: int = 4
    # How long one CloudWatch minute lasts: metric publication and alarm periods.
    metric_minute_seconds: float = 1.0
    # A warm worker idle this long stops, as Lambda reclaims an idle execution environment
    # (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). Real time,
    # not compressed: after a break a learner's next invoke starts cold, as on AWS.
    idle_worker_seconds: float = 300.0
    # Handlers in a sandbox even on loopback (WORKSHOP_SANDBOX_HANDLERS=on); an emulator that
    # listens beyond loopback sandboxes them anyway (see workshop.emulator.functions.sandbox).
    sandbox_handlers: bool = False
    # Workers forked from a warm parent (workshop.emulator.functions.fork_server) where the
    # platform allows; WORKSHOP_FORK_WORKERS=off starts each as a process of its own.
    fork_workers: bool = True

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(
            time_scale=_float("WORKSHOP_TIME_SCALE", DEFAULT_TIME_SCALE),
            lambda_concurrency=int(_float("WORKSHOP_LAMBDA_CONCURRENCY", 4)),
            metric_minute_seconds=_float("WORKSHOP_METRIC_MINUTE_SECONDS", 1.0),
            idle_worker_seconds=_float("WORKSHOP_IDLE_WORKER_SECONDS", 300.0),
            sandbox_handlers=os.environ.get("WORKSHOP_SANDBOX_HANDLERS", "").lower() in ("on", "1", "yes", "true"),
            fork_workers=os.environ.get("WORKSHOP_FORK_WORKERS", "").lower() not in ("off", "0", "no", "false"),
        )

    def scaled(self, aws_seconds: float) -> float:
        """An AWS duration in the emulator's compressed time."""
        return aws_seconds * self.time_scale


@dataclass
class Chaos:
    """Teaching switches: what AWS may do to you rarely, made frequent on purpose.

    duplicate_rate: S3, SNS and SQS deliveries made twice, and DynamoDB stream batches handed
                    to their function twice (at-least-once delivery). A delivery is doubled
                    once, never again: at 1.0 everything arrives exactly twice.
    failure_rate:   invocations reported as failed after the handler ran (lost responses,
                    timeouts after side effects), so retries repeat work already done. Only
                    invocations Lambda retries by itself get them: asynchronous ones (S3, SNS,
                    ``InvocationType=Event``) and event-source mappings (streams, SQS). A
                    synchronous invoke (``RequestResponse``, API Gateway) is never retried by
                    AWS; its caller sees the error and decides, so an injected failure there
                    would prove nothing about retries and only break the caller (a lab's
                    check, an HTTP client).
    failing:        which of those retried invocations may get a failure: ``async``, ``stream``
                    (DynamoDB mappings), ``sqs`` (SQS mappings); all three unless narrowed. A
                    failed SQS batch comes back only after the queue's visibility timeout (a
                    minute or more, in real time: AWS's, not compressed), and on a FIFO queue
                    it holds its message groups until then, so a run that must stay short
                    narrows the switch to ``async,stream``. To the handler a failed SQS batch
                    retried is the same message delivered again, which ``duplicate_rate`` makes.
    delay_ms:       added before each event delivery.

    What AWS allows, stated by AWS:
    https://docs.aws.amazon.com/lambda/latest/dg/invocation-retries.html (which invocations are
    retried), https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html
    (mappings process each event at least once, duplicates can occur),
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventNotifications.html (S3 event
    notifications are delivered at least once).
    """

    duplicate_rate: float = 0.0
    failure_rate: float = 0.0
    delay_ms: int = 0
    seed: int | None = None
    failing: tuple[str, ...] = FAILING_SOURCES
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_environment(cls) -> Chaos:
        chaos = cls()
        chaos.update(
            {
                "duplicate_rate": _float("WORKSHOP_CHAOS_DUPLICATE_RATE", 0.0),
                "failure_rate": _float("WORKSHOP_CHAOS_FAILURE_RATE", 0.0),
                "delay_ms": _float("WORKSHOP_CHAOS_DELAY_MS", 0),
                "seed": os.environ.get("WORKSHOP_CHAOS_SEED") or None,
                "failing": os.environ.get("WORKSHOP_CHAOS_FAILING") or ",".join(FAILING_SOURCES),
            }
        )
        return chaos

    def update(self, values: dict[str, Any]) -> None:
        """Apply new switch values, validated; unknown names are an error, not ignored."""
        unknown = set(values) - {"duplicate_rate", "failure_rate", "delay_ms", "seed", "failing"}
        if unknown:
            raise ValueError(f"unknown chaos switches: {', '.join(sorted(unknown))}")
        for rate in ("duplicate_rate", "failure_rate"):
            if rate in values and not 0.0 <= float(values[rate]) <= 1.0:
                raise ValueError(f"{rate} must be between 0 and 1, not {values[rate]}")
        if "delay_ms" in values and float(values["delay_ms"]) < 0:
            raise ValueError("delay_ms cannot be negative")
        failing = values.get("failing")
        if failing is not None:
            failing = tuple(failing.split(",") if isinstance(failing, str) else failing)
            if not failing or set(failing) - set(FAILING_SOURCES):
                raise ValueError(f"failing names some of {', '.join(FAILING_SOURCES)}, not {values['failing']!r}")
        with self._lock:
            for name in ("duplicate_rate", "failure_rate"):
                if name in values:
                    setattr(self, name, float(values[name]))
            if "delay_ms" in values:
                self.delay_ms = int(float(values["delay_ms"]))
            if failing is not None:
                self.failing = tuple(source for source in FAILING_SOURCES if source in failing)
            if "seed" in values:
                self.seed = None if values["seed"] in (None, "") else int(values["seed"])
                self._random.seed(self.seed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "duplicate_rate": self.duplicate_rate,
            "failure_rate": self.failure_rate,
            "delay_ms": self.delay_ms,
            "seed": self.seed,
            "failing": list(self.failing),
        }

    def _roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._random.random() < rate

    def duplicate(self) -> bool:
        return self._roll(self.duplicate_rate)

    def fail(self, source: str) -> bool:
        """Whether this invocation, one Lambda retries (``source``: async, stream or sqs), fails."""
        return source in self.failing and self._roll(self.failure_rate)
