"""Wait for an asynchronous effect the same way on every backend: poll, with a deadline.

On the embedded emulator these waits end in a fraction of a second; on real AWS they
take as long as AWS takes. Either way a notebook never sleeps a fixed time and hopes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How long a wait's polls may grow apart. On AWS a poll is a billed, rate-limited call, and an
# effect there takes seconds to minutes; a local emulator's effects land within milliseconds of
# their cause, and a poll costs it a millisecond, so seeing them a second late is all waste.
AWS_MAX_INTERVAL = 1.0
LOCAL_MAX_INTERVAL = 0.25


class WaitTimeout(TimeoutError):
    """The condition never held; the message says what was awaited and what was last seen."""


def wait_for(
    condition: Callable[[], T],
    description: str,
    timeout: float = 30.0,
    interval: float = 0.05,
    max_interval: float | None = None,
) -> T:
    """Call ``condition`` until it returns something truthy; return that value.

    The interval grows up to ``max_interval`` so long waits on real AWS stay cheap (by default
    ``AWS_MAX_INTERVAL`` on AWS, ``LOCAL_MAX_INTERVAL`` on a local emulator).
    """
    if max_interval is None:
        max_interval = _default_max_interval()
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"Timed out after {timeout:g} s waiting for {description} (last seen: {last!r}).")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(interval * 1.5, max_interval)


def _default_max_interval() -> float:
    from workshop.core import backend  # boto3 is imported only by a wait, not by importing this
    from workshop.core.errors import WorkshopError

    try:
        return LOCAL_MAX_INTERVAL if backend.current().is_local else AWS_MAX_INTERVAL
    except WorkshopError:  # no backend this process can name: AWS's pace is the safe one
        return AWS_MAX_INTERVAL


def wait_until_settled(
    read: Callable[[], T], description: str, quiet: float = 1.0, timeout: float = 60.0, interval: float = 0.1
) -> T:
    """Call ``read`` until it returns a truthy value that stays equal for ``quiet`` seconds;
    return that value. For effects with no "done" signal, such as a stream worked through
    with retries: it has settled when nothing changes any more."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    since = time.monotonic()
    while True:
        value = read()
        now = time.monotonic()
        if not value or value != last:
            last, since = value, now
        elif now - since >= quiet:
            return value
        if now >= deadline:
            raise WaitTimeout(
                f"Timed out after {timeout:g} s waiting for {description} to settle (last seen: {last!r})."
            )
        time.sleep(interval)
