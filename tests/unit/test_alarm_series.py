"""Alarms read their metrics' series from a cache of each datum's key and time: the series are
the data's, and the cache holds what the last pass saw, no more (forgotten data is let go)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from workshop.emulator.cloudwatch import _series

pytestmark = pytest.mark.unit

START = datetime(2026, 12, 5, 8, 0)


def datum(queue: str, minute: int, value: float, name: str = "ApproximateNumberOfMessagesVisible"):
    return SimpleNamespace(
        namespace="AWS/SQS",
        name=name,
        value=value,
        timestamp=START + timedelta(minutes=minute),
        dimensions=[SimpleNamespace(name="QueueName", value=queue)],
    )


def test_series_are_the_data_and_the_cache_keeps_only_what_it_last_saw():
    wanted = {("AWS/SQS", "ApproximateNumberOfMessagesVisible")}
    backend = SimpleNamespace(
        metric_data=[datum("jobs", m, float(m)) for m in range(3)]
        + [datum("jobs", 0, 9.0, name="NumberOfMessagesSent")]
    )
    cache: dict = {}
    key = ("AWS/SQS", "ApproximateNumberOfMessagesVisible", frozenset({("QueueName", "jobs")}))
    first = _series(backend, wanted, cache)
    # moto keeps naive UTC timestamps
    assert first == {
        key: [((START + timedelta(minutes=m)).replace(tzinfo=UTC).timestamp(), float(m)) for m in range(3)]
    }
    assert _series(backend, wanted, cache) == first and len(cache) == 3
    backend.metric_data = backend.metric_data[1:] + [datum("other", 3, 5.0)]  # the oldest forgotten, one more
    after = _series(backend, wanted, cache)
    assert [value for _, value in after[key]] == [1.0, 2.0] and len(after) == 2
    assert len(cache) == 3  # the forgotten datum is not held
