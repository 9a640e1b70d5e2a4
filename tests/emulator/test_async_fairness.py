"""Asynchronous invocations are scheduled per function: one function's slow handler never
delays another function's events, as each Lambda function scales on its own concurrency
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html)."""

import time

import pytest

from tests.lambda_helpers import deploy_source, invoke, log_messages, ready_names
from workshop.core.waiting import wait_for

SLOW_SECONDS = 3
SLOW = f"import time\ndef handler(event, context):\n    time.sleep({SLOW_SECONDS})\n"
FAST = "def handler(event, context):\n    return event\n"


@pytest.fixture
def names(backend, prefix):
    return ready_names(backend, prefix)


def _reports(backend, function):
    function = function.split(":")[-1]  # the log group is named after the function, not its ARN
    try:
        return [m for m in log_messages(backend, function) if m.startswith("REPORT")]
    except backend.client("logs").exceptions.ResourceNotFoundException:
        return []  # no invocation has finished yet


def test_slow_handlers_of_other_functions_do_not_delay_a_fast_function(backend, names):
    lam = backend.client("lambda")
    slow = [deploy_source(backend, names, f"slow-{letter}", SLOW) for letter in "abcd"]
    fast = deploy_source(backend, names, "fast", FAST)
    invoke(backend, fast)  # warm: what is measured is waiting for a turn, not a cold start
    for function in slow:  # more slow events than the whole emulator once had threads for
        for n in range(3):
            lam.invoke(FunctionName=function, InvocationType="Event", Payload=b'{"n": %d}' % n)
    time.sleep(0.5)  # the slow handlers are running now

    started = time.monotonic()
    for n in range(3):
        lam.invoke(FunctionName=fast, InvocationType="Event", Payload=b'{"n": %d}' % n)
    wait_for(
        lambda: len(_reports(backend, fast)) >= 4,
        "the fast function's three events",
        timeout=30,
        interval=0.02,
        max_interval=0.05,
    )
    waited = time.monotonic() - started
    still_slow = [function for function in slow if len(_reports(backend, function)) < 3]
    assert waited < 1.0, f"the fast function's events waited {waited:.1f} s behind other functions' slow handlers"
    assert still_slow, "the slow handlers had finished: the fast function was not measured beside them"

    # Leave the shared emulator idle for the tests after this one.
    wait_for(
        lambda: all(len(_reports(backend, function)) >= 3 for function in slow),
        "the slow handlers to finish",
        timeout=60,
        interval=0.2,
    )
