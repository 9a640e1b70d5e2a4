import itertools
import time

import pytest

from workshop.waiting import WaitTimeout, wait_for


def test_returns_the_first_truthy_value():
    counter = itertools.count()
    assert wait_for(lambda: next(counter) >= 3 and "ready", "three polls", timeout=5) == "ready"


def test_times_out_with_what_was_awaited_and_last_seen():
    started = time.perf_counter()
    with pytest.raises(WaitTimeout) as error:
        wait_for(lambda: [], "the order in the queue", timeout=0.3)
    assert 0.3 <= time.perf_counter() - started < 5
    assert "Timed out after 0.3 s waiting for the order in the queue (last seen: [])" in str(error.value)
