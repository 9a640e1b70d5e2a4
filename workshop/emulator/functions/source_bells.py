"""Bells that wake an idle event-source poller the moment its source is written to.

A class leaves dozens of mappings idle; pollers that looked for work twenty times a second
each took a fifth of a core between them while nobody did anything. A write that can make a
message or a stream record deliverable (a message sent, deleted or made visible again; a
stream record) rings its source's bell, and an idle poller sleeps until it rings, until time
alone makes a message deliverable (a visibility timeout or a delay ends), or at most
``SAFETY_WAKE_SECONDS``, for a write nothing rang for. Work is also picked up sooner: at the
ring, not at the next look.
"""

from __future__ import annotations

import threading

__all__ = ["SAFETY_WAKE_SECONDS", "SourceBells"]

# Every write the emulator knows of rings; this bounds a wait on one it does not. At 0.5 s the
# wakes of a class's 120 idle pollers took 2% of a core.
SAFETY_WAKE_SECONDS = 2.0


class _Bell:
    __slots__ = ("condition", "rung")

    def __init__(self) -> None:
        self.condition = threading.Condition(threading.Lock())
        self.rung = 0


class SourceBells:
    """One bell per source (a queue's ARN, a table's ARN for its stream), made when first used."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bells: dict[str, _Bell] = {}

    def _bell(self, source: str) -> _Bell:
        bell = self._bells.get(source)
        if bell is None:
            with self._lock:
                bell = self._bells.setdefault(source, _Bell())
        return bell

    def ring(self, source: str) -> None:
        bell = self._bell(source)
        with bell.condition:
            bell.rung += 1
            bell.condition.notify_all()

    def rung(self, source: str) -> int:
        """How often the bell has rung: read it before looking for work, pass it to :meth:`wait`,
        and a ring between the look and the wait is not missed."""
        return self._bell(source).rung

    def wait(self, source: str, seen: int, timeout: float) -> None:
        """Until the bell rings again after ``seen`` rings, or ``timeout`` seconds."""
        bell = self._bell(source)
        with bell.condition:
            bell.condition.wait_for(lambda: bell.rung != seen, timeout=max(0.0, min(timeout, SAFETY_WAKE_SECONDS)))
