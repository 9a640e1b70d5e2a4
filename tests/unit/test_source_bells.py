"""The bells idle pollers sleep on: a ring is never missed, and a sleep ends at its timeout."""

from __future__ import annotations

import threading
import time

from workshop.emulator.functions.source_bells import SAFETY_WAKE_SECONDS, SourceBells


def test_a_ring_between_the_look_and_the_wait_is_not_missed():
    bells = SourceBells()
    seen = bells.rung("arn:queue")
    bells.ring("arn:queue")  # a message arrives after the poller looked and found nothing
    started = time.monotonic()
    bells.wait("arn:queue", seen, timeout=30)
    assert time.monotonic() - started < 0.1


def test_a_ring_wakes_a_sleeping_poller_and_only_its_own_source_does():
    bells = SourceBells()
    woke: list[float] = []
    seen = bells.rung("arn:mine")

    def sleeper() -> None:
        bells.wait("arn:mine", seen, timeout=SAFETY_WAKE_SECONDS)
        woke.append(time.monotonic())

    thread = threading.Thread(target=sleeper)
    thread.start()
    time.sleep(0.05)
    bells.ring("arn:another")
    time.sleep(0.05)
    assert not woke, "another source's write woke it"
    rung_at = time.monotonic()
    bells.ring("arn:mine")
    thread.join(timeout=5)
    assert woke and woke[0] - rung_at < SAFETY_WAKE_SECONDS / 2


def test_a_sleep_ends_at_its_timeout_and_never_later_than_the_safety_wake():
    bells = SourceBells()
    started = time.monotonic()
    bells.wait("arn:quiet", bells.rung("arn:quiet"), timeout=0.05)
    assert 0.04 < time.monotonic() - started < SAFETY_WAKE_SECONDS
    started = time.monotonic()
    bells.wait("arn:quiet", bells.rung("arn:quiet"), timeout=float("inf"))
    assert SAFETY_WAKE_SECONDS * 0.9 < time.monotonic() - started < SAFETY_WAKE_SECONDS * 3
