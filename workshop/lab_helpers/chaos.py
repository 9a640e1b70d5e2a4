"""The emulator's teaching switches, from a notebook: make rare AWS behaviour frequent.

    from workshop.lab_helpers import chaos
    chaos.configure(duplicate_rate=0.3)      # S3/SNS/SQS deliveries arrive twice, 30% of the time
    chaos.configure(failure_rate=0.2)        # 20% of retried invocations fail after the handler ran
    chaos.configure(failing="async,stream")  # ... but not SQS batches (they return after a visibility timeout)
    chaos.reset()

Only the embedded emulator has them: on real AWS these things happen by themselves,
rarely, and a notebook cannot summon them.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from workshop.core import backend as backends
from workshop.core.errors import WorkshopError

OFF = {"duplicate_rate": 0.0, "failure_rate": 0.0, "delay_ms": 0, "seed": None, "failing": ["async", "stream", "sqs"]}


def _admin(route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    backend = backends.current()
    if backend.kind != backends.EMBEDDED:
        raise WorkshopError(
            f"Teaching switches exist only on the embedded emulator, not on the {backend.kind!r} backend."
        )
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{backend.endpoint_url}/_workshop/{route}", data=data, method="GET" if body is None else "POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise WorkshopError(json.loads(error.read() or b"{}").get("error", str(error))) from None


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
    tests run a lesson under duplicates or failures) keeps them on after a notebook's own block."""
    before = current()
    try:
        yield configure(**switches)
    finally:  # only those it set: a seed given again would restart its random sequence
        configure(**{name: before[name] for name in switches if name in before})
