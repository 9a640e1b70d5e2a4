"""Wait for an asynchronous effect the same way on every backend: poll, with a deadline.

On the embedded emulator these waits end in a fraction of a second; on real AWS they
take as long as AWS takes. Either way a notebook never sleeps a fixed time and hopes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """The condition never held; the message says what was awaited and what was last seen."""


def wait_for(
    condition: Callable[[], T],
    description: str,
    timeout: float = 30.0,
    interval: float = 0.05,
    max_interval: float = 1.0,
) -> T:
    """Call ``condition`` until it returns something truthy; return that value.

    The interval grows up to ``max_interval`` so long waits on real AWS stay cheap.
    """
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
