"""Asynchronous invocations are scheduled per function: one function's slow handler never
delays another function's events, as each Lambda function scales on its own concurrency
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html)."""

import threading
import time
from types import SimpleNamespace

import pytest

from tests.lambda_helpers import deploy_source, invoke, log_messages, ready_names
from workshop.core.waiting import wait_for
from workshop.emulator.functions.async_invoke import AsyncHooks, AsyncInvoker
from workshop.emulator.functions.models import Invocation
from workshop.emulator.settings import Settings

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


def test_the_invoker_stays_within_each_functions_concurrency_and_its_slots_and_leaves_no_thread():
    running, peaks, lock, ran = {}, {"total": 0}, threading.Lock(), []

    def invoke(spec, payload, request_id, *trace):  # the trace header, notes and arrival: unused here
        with lock:
            running[spec.name] = running.get(spec.name, 0) + 1
            peaks[spec.name] = max(peaks.get(spec.name, 0), running[spec.name])
            peaks["total"] = max(peaks["total"], sum(running.values()))
        time.sleep(0.02)
        with lock:
            running[spec.name] -= 1
            ran.append(spec.name)
        return Invocation(request_id, b"null", False, [], 1.0)

    hooks = AsyncHooks(
        resolve=lambda region, name: SimpleNamespace(name=name.split(":")[-1], arn=name, version="$LATEST"),
        invoke=invoke,
        invoke_config=lambda region, name: {},
        dead_letter_target=lambda region, name: None,
        send=lambda target, body, attributes: None,
    )
    invoker = AsyncInvoker(hooks, Settings(lambda_concurrency=2), workers=8)
    try:
        for n in range(10):
            for function in "abcdef":  # by name and by ARN: one function either way
                name = function if n % 2 else f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
                invoker.submit("us-east-1", name, b"{}")
        wait_for(invoker.idle, "every event run", timeout=30)
    finally:
        invoker.stop()
    assert sorted(ran) == sorted("abcdef" * 10)
    assert max(peaks[f] for f in "abcdef") <= 2, peaks
    assert peaks["total"] <= 8, peaks
    wait_for(
        lambda: not [t for t in threading.enumerate() if t.name.startswith("async-invoke")],
        "the invoker's threads to end once nothing is left to run",
        timeout=5,
    )
