"""Asynchronous invocation: retries with back-off, destinations, dead-letter queues, chaos."""

import json
import urllib.error
import urllib.request

import pytest

from tests.lambda_helpers import deploy_source, log_messages, ready_names
from workshop.core.waiting import wait_for

FAILING = "def handler(event, context):\n    raise RuntimeError('always fails: ' + str(event.get('n')))\n"
SUCCEEDING = "def handler(event, context):\n    return {'doubled': event['n'] * 2}\n"


@pytest.fixture
def names(backend, prefix):
    return ready_names(backend, prefix)


def _queue(backend, names, purpose):
    sqs = backend.client("sqs")
    url = sqs.create_queue(QueueName=names.queue(purpose))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _one_message(backend, url):
    sqs = backend.client("sqs")
    messages = wait_for(
        lambda: sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=1).get("Messages"),
        "a message in the destination queue",
        timeout=15,
    )
    return messages[0]


def _starts(backend, function):
    return [m for m in log_messages(backend, function) if m.startswith("START")]


def test_retries_then_on_failure_destination(backend, names):
    url, arn = _queue(backend, names, "failures")
    deploy_source(backend, names, "failing", FAILING)
    function = names.function("failing")
    lam = backend.client("lambda")
    lam.put_function_event_invoke_config(
        FunctionName=function, MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": arn}}
    )
    assert lam.get_function_event_invoke_config(FunctionName=function)["MaximumRetryAttempts"] == 1
    response = lam.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps({"n": 7}))
    record = json.loads(_one_message(backend, url)["Body"])
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert record["requestPayload"] == {"n": 7}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "always fails: 7"
    assert len(_starts(backend, function)) == 2, "one try and one retry"


def test_default_is_two_retries_then_the_dead_letter_queue(backend, names):
    url, arn = _queue(backend, names, "dlq")
    deploy_source(backend, names, "failing", FAILING, DeadLetterConfig={"TargetArn": arn})
    function = names.function("failing")
    config = backend.client("lambda").get_function_configuration(FunctionName=function)
    assert config["DeadLetterConfig"] == {"TargetArn": arn}
    backend.client("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=b'{"n": 1}')
    message = _one_message(backend, url)
    assert json.loads(message["Body"]) == {"n": 1}, "a DLQ receives the original event"
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == "always fails: 1"
    assert "RequestID" in message["MessageAttributes"]
    assert len(_starts(backend, function)) == 3


def test_a_later_put_replaces_the_invoke_config(backend, names):
    deploy_source(backend, names, "failing", FAILING)
    lam = backend.client("lambda")
    function = names.function("failing")
    lam.put_function_event_invoke_config(FunctionName=function, MaximumRetryAttempts=2)
    lam.put_function_event_invoke_config(FunctionName=function, MaximumRetryAttempts=0)
    assert lam.get_function_event_invoke_config(FunctionName=function)["MaximumRetryAttempts"] == 0
    lam.invoke(FunctionName=function, InvocationType="Event", Payload=b"{}")
    wait_for(lambda: _starts(backend, function), "the invocation")
    wait_for(lambda: _idle(backend), "the async queue to drain")
    assert len(_starts(backend, function)) == 1


def test_on_success_destination(backend, names):
    url, arn = _queue(backend, names, "successes")
    deploy_source(backend, names, "doubler", SUCCEEDING)
    backend.client("lambda").put_function_event_invoke_config(
        FunctionName=names.function("doubler"), DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    backend.client("lambda").invoke(
        FunctionName=names.function("doubler"), InvocationType="Event", Payload=b'{"n": 21}'
    )
    record = json.loads(_one_message(backend, url)["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == {"doubled": 42}
    assert "functionError" not in record["responseContext"]


def _admin(backend, route, body=None):
    request = urllib.request.Request(
        f"{backend.endpoint_url}/_workshop/{route}",
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _idle(backend):
    return _admin(backend, "idle")["idle"]


def test_chaos_failures_report_a_successful_run_as_failed(backend, names):
    url, arn = _queue(backend, names, "injected")
    deploy_source(backend, names, "doubler", SUCCEEDING)
    backend.client("lambda").put_function_event_invoke_config(
        FunctionName=names.function("doubler"),
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    try:
        assert _admin(backend, "chaos", {"failure_rate": 1.0})["failure_rate"] == 1.0
        backend.client("lambda").invoke(
            FunctionName=names.function("doubler"), InvocationType="Event", Payload=b'{"n": 1}'
        )
        record = json.loads(_one_message(backend, url)["Body"])
        assert record["responseContext"]["functionError"] == "Unhandled"
        assert record["responsePayload"]["errorType"] == "Workshop.InjectedFailure"
    finally:
        _admin(backend, "chaos", {"failure_rate": 0.0})
    response = backend.client("lambda").invoke(FunctionName=names.function("doubler"), Payload=b'{"n": 1}')
    assert "FunctionError" not in response


def test_bad_chaos_settings_are_refused(backend):
    with pytest.raises(urllib.error.HTTPError) as error:
        _admin(backend, "chaos", {"failure_rate": 3})
    assert error.value.code == 400
    with pytest.raises(urllib.error.HTTPError):
        _admin(backend, "chaos", {"explode": True})


def test_an_event_older_than_its_maximum_age_is_dropped_to_the_destination(backend, names):
    url, arn = _queue(backend, names, "expired")
    deploy_source(backend, names, "failing", FAILING)
    function = names.function("failing")
    # The first retry waits one (compressed) minute: exactly the maximum age, so the event expires.
    backend.client("lambda").put_function_event_invoke_config(
        FunctionName=function,
        MaximumEventAgeInSeconds=60,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    backend.client("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=b'{"n": 3}')
    record = json.loads(_one_message(backend, url)["Body"])
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert "responsePayload" not in record
