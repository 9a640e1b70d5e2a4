"""The emulator's teaching switches, from a notebook: make rare AWS behaviour frequent.

    from workshop.lab_helpers import chaos
    chaos.configure(duplicate_rate=0.3)      # S3/SNS/SQS deliveries arrive twice, 30% of the time
    chaos.configure(failure_rate=0.2)        # 20% of retried invocations fail after the handler ran
    chaos.configure(failing="async,stream")  # ... but not SQS batches (they return after a visibility timeout)
    chaos.reset()

Only the kit's own emulator has them (embedded, or an instructor's behind ``AWS_ENDPOINT_URL``): on
real AWS these things happen by themselves, rarely, and a notebook cannot summon them. On an
emulator shared by a class the switches you set are yours: they act on your resources only
(``workshop.emulator.scopes``), and :func:`current` shows yours.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from workshop.lab_helpers import kit_emulator

OFF = {"duplicate_rate": 0.0, "failure_rate": 0.0, "delay_ms": 0, "seed": None, "failing": ["async", "stream", "sqs"]}


FEATURE = "Teaching switches"


def _admin(route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return kit_emulator.call(route, FEATURE, "GET" if body is None else "POST", body)


def configure(**switches: Any) -> dict[str, Any]:
    """Set some switches (duplicate_rate, failure_rate, delay_ms, seed, failing); returns all of them."""
    return _admin("chaos", switches)


def current() -> dict[str, Any]:
    return _admin("chaos")


def reset() -> dict[str, Any]:
    return configure(**OFF)


@contextmanager
def switched(**switches: Any) -> Iterator[dict[str, Any]]:
    """Switches on for a block of code, back as they were afterwards even if the block fails.

    As they were, not off: an emulator started with switches on (``WORKSHOP_CHAOS_*``, as the
    tests run a lesson under duplicates or failures) keeps them on after a notebook's own block.
    Where there are no switches (another emulator) it says so in one line and runs the block."""
    reason = kit_emulator.missing(FEATURE)
    if reason:
        print(f"{reason} The block runs without them.")
        yield {}
        return
    before = current()
    try:
        yield configure(**switches)
    finally:  # only those it set: a seed given again would restart its random sequence
        configure(**{name: before[name] for name in switches if name in before})
