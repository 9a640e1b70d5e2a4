import itertools
import time

import pytest

from workshop.core import backend, waiting
from workshop.core.waiting import WaitTimeout, wait_for, wait_until_settled


def test_returns_the_first_truthy_value():
    counter = itertools.count()
    assert wait_for(lambda: next(counter) >= 3 and "ready", "three polls", timeout=5) == "ready"


def test_times_out_with_what_was_awaited_and_last_seen():
    started = time.perf_counter()
    with pytest.raises(WaitTimeout) as error:
        wait_for(lambda: [], "the order in the queue", timeout=0.3)
    assert 0.3 <= time.perf_counter() - started < 5
    assert "Timed out after 0.3 s waiting for the order in the queue (last seen: [])" in str(error.value)


def test_settles_once_the_value_stops_changing():
    readings = iter([0, 3, 5, 5, 7] + [9] * 1000)
    assert wait_until_settled(lambda: next(readings), "a counter", quiet=0.05, interval=0.01) == 9


def test_an_ever_changing_value_never_settles():
    counter = iter(range(1, 10**6))
    with pytest.raises(WaitTimeout, match="a counter to settle"):
        wait_until_settled(lambda: next(counter), "a counter", quiet=0.2, timeout=0.3, interval=0.01)


@pytest.mark.parametrize(
    ("environment", "longest"),
    [
        ({}, waiting.LOCAL_MAX_INTERVAL),  # the embedded emulator
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, waiting.LOCAL_MAX_INTERVAL),
        ({"WORKSHOP_BACKEND": "aws", "AWS_DEFAULT_REGION": "eu-west-1"}, waiting.AWS_MAX_INTERVAL),
        ({"WORKSHOP_BACKEND": "mainframe"}, waiting.AWS_MAX_INTERVAL),  # not a backend: the careful pace
    ],
)
def test_polls_grow_apart_to_a_second_on_aws_and_a_quarter_locally(environment, longest, monkeypatch):
    for name in ("WORKSHOP_BACKEND", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    backend.current.cache_clear()
    pauses = []
    monkeypatch.setattr(waiting.time, "sleep", pauses.append)
    polls = itertools.count()
    try:
        wait_for(lambda: next(polls) >= 20, "twenty polls", timeout=60)
    finally:
        backend.current.cache_clear()
    assert pauses[0] == 0.05 and max(pauses) == longest == pauses[-1]
