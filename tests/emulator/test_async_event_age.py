"""The maximum event age is AWS time: a backlog's real wait is not compressed like a back-off."""

import threading
import time
from types import SimpleNamespace

from workshop.emulator.functions.async_invoke import AsyncHooks, AsyncInvoker
from workshop.emulator.functions.models import Invocation
from workshop.emulator.settings import Settings


def _invoker(time_scale, fails=False, config=None):
    ran, sent, done = [], [], threading.Event()

    def invoke(spec, payload, request_id, *trace):  # the trace header, notes and arrival: unused here
        time.sleep(0.05)  # one worker: the other events wait their turn, in real time
        ran.append(payload)
        done.set()
        return Invocation(request_id, b'{"errorMessage": "no"}' if fails else b"null", fails, [], 1.0)

    hooks = AsyncHooks(
        resolve=lambda region, name: SimpleNamespace(name=name, arn=name, version="$LATEST"),
        invoke=invoke,
        invoke_config=lambda region, name: dict(config or {}),
        dead_letter_target=lambda region, name: None,
        send=lambda target, body, attributes: sent.append(body),
    )
    return AsyncInvoker(hooks, Settings(time_scale=time_scale), workers=1), ran, sent


def test_a_backlog_longer_than_the_compressed_default_age_still_runs_every_event():
    # Six hours compressed by 1e-5 is 0.2 s; twenty events of 0.05 s each wait up to a second.
    invoker, ran, _ = _invoker(1e-5)
    try:
        for n in range(20):
            invoker.submit("us-east-1", "f", str(n).encode())
        deadline = time.monotonic() + 20
        while len(ran) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(ran) == 20, f"only {len(ran)} of 20 queued events ran: the rest expired in the queue"
    finally:
        invoker.stop()


def test_back_off_still_counts_as_aws_time_towards_the_maximum_age():
    # The first retry waits one AWS minute (compressed to 6 ms): past a 60-second maximum age.
    invoker, ran, sent = _invoker(
        1e-4,
        fails=True,
        config={"MaximumEventAgeInSeconds": 60, "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:x"}}},
    )
    try:
        invoker.submit("us-east-1", "f", b"{}")
        deadline = time.monotonic() + 10
        while not sent and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(ran) == 1 and sent and '"EventAgeExceeded"' in sent[0]
    finally:
        invoker.stop()
