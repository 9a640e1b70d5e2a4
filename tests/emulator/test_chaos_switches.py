"""The teaching switches as the lessons' test harness relies on them.

- ``chaos.switched`` puts back what was in force before its block, so a notebook's own
  demonstration does not turn off an emulator's global switches halfway through a run;
- injected failures hit only the invocations Lambda retries by itself (asynchronous ones and
  event-source mappings), never a synchronous invoke, which AWS leaves to its caller;
- at a duplicate rate of 1.0 every SQS message and every stream batch a mapping hands over
  arrives exactly twice: a duplicate is not duplicated again, for ever.
"""

import json
from collections import Counter

import pytest

from tests.emulator.test_event_delivery import queue, recorded_events
from tests.lambda_helpers import deploy_source, log_messages, ready_names
from workshop.core.waiting import wait_for
from workshop.lab_helpers import chaos

RECORDER = """
import json
def handler(event, context):
    print("EVENT " + json.dumps(event))
    return {"ok": True}
"""


@pytest.fixture
def names(backend, prefix):
    return ready_names(backend, prefix)


@pytest.fixture
def switches(in_process_backend):
    """The session emulator's switches, off again after the test whatever it did."""
    yield chaos
    chaos.reset()


def test_switched_puts_back_the_switches_in_force_before(switches):
    switches.configure(duplicate_rate=0.5, failure_rate=0.25, seed=3)
    with switches.switched(duplicate_rate=1.0) as inside:
        assert inside["duplicate_rate"] == 1.0 and inside["failure_rate"] == 0.25
    assert switches.current() == {
        "duplicate_rate": 0.5,
        "failure_rate": 0.25,
        "delay_ms": 0,
        "seed": 3,
        "failing": ["async", "stream", "sqs"],
    }
    with pytest.raises(RuntimeError):
        with switches.switched(failure_rate=1.0, delay_ms=5):
            raise RuntimeError("the block fails")
    assert switches.current() == {
        "duplicate_rate": 0.5,
        "failure_rate": 0.25,
        "delay_ms": 0,
        "seed": 3,
        "failing": ["async", "stream", "sqs"],
    }
    switches.reset()
    with switches.switched(duplicate_rate=0.3):
        pass
    assert switches.current()["duplicate_rate"] == 0.0, "off before, off after"


def test_failures_are_injected_only_into_invocations_lambda_retries(backend, names, switches):
    deploy_source(backend, names, "recorder", RECORDER)
    function = names.function("recorder")
    lam = backend.client("lambda")
    url, arn = queue(backend, names, "failed")
    lam.put_function_event_invoke_config(
        FunctionName=function, MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": arn}}
    )
    switches.configure(failure_rate=1.0)
    response = lam.invoke(FunctionName=function, Payload=b'{"n": 1}')
    assert "FunctionError" not in response, "AWS does not retry a synchronous invoke: nothing to inject"
    assert json.loads(response["Payload"].read()) == {"ok": True}

    lam.invoke(FunctionName=function, InvocationType="Event", Payload=b'{"n": 2}')
    message = wait_for(
        lambda: backend.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"),
        "the failed event at its on-failure destination",
        timeout=15,
    )[0]
    record = json.loads(message["Body"])
    assert record["requestPayload"] == {"n": 2}
    assert record["responsePayload"]["errorType"] == "Workshop.InjectedFailure"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    ran = [e for e in recorded_events(backend, function) if e.get("n") == 2]
    assert len(ran) == 2, "the handler ran on each try: the failure comes after it"


def test_failures_can_be_kept_to_some_of_the_retried_invocations(backend, names, switches):
    """``failing="async,stream"``: an SQS batch is not failed (its retry would wait out the
    queue's visibility timeout), an asynchronous invoke still is."""
    deploy_source(backend, names, "recorder", RECORDER)
    function = names.function("recorder")
    url, arn = queue(backend, names, "spared", VisibilityTimeout="30")
    assert switches.configure(failure_rate=1.0, failing="async,stream")["failing"] == ["async", "stream"]
    with pytest.raises(Exception, match="failing names some of"):
        switches.configure(failing="sqs,lambda")
    backend.client("sqs").send_message(QueueUrl=url, MessageBody="once")
    backend.client("lambda").create_event_source_mapping(FunctionName=function, EventSourceArn=arn, BatchSize=10)
    wait_for(
        lambda: (
            backend.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
                "ApproximateNumberOfMessagesNotVisible"
            ]
            == "0"
            and recorded_events(backend, function)
        ),
        "the message processed and deleted",
        timeout=20,
    )
    stats = chaos._admin("stats")["invocations"][function]
    assert stats == {"ok": 1, "error": 0}
    backend.client("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=b'{"n": 3}')
    wait_for(lambda: chaos._admin("stats")["invocations"][function]["error"] == 3, "three failed tries", timeout=20)


def test_every_sqs_message_a_mapping_hands_over_arrives_exactly_twice_at_rate_one(backend, names, switches):
    deploy_source(backend, names, "recorder", RECORDER)
    function = names.function("recorder")
    url, arn = queue(backend, names, "twice")
    switches.configure(duplicate_rate=1.0)
    backend.client("sqs").send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"job {n}"} for n in range(3)]
    )
    backend.client("lambda").create_event_source_mapping(FunctionName=function, EventSourceArn=arn, BatchSize=10)

    def bodies():
        return Counter(r["body"] for e in recorded_events(backend, function) for r in e["Records"])

    def drained():
        attributes = backend.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return (
            attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
            and sum(bodies().values()) >= 6
        )

    wait_for(drained, "the queue to empty", timeout=20)
    wait_for(
        lambda: backend.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages") is None,
        "a quiet queue",
    )
    assert bodies() == {"job 0": 2, "job 1": 2, "job 2": 2}


def test_every_stream_batch_is_handed_over_exactly_twice_at_rate_one(backend, names, switches):
    deploy_source(backend, names, "recorder", RECORDER)
    function = names.function("recorder")
    ddb = backend.client("dynamodb")
    table = names.table("twice")
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    stream = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    switches.configure(duplicate_rate=1.0)
    for n in range(5):
        ddb.put_item(TableName=table, Item={"id": {"S": f"item-{n}"}})
    backend.client("lambda").create_event_source_mapping(
        FunctionName=function, EventSourceArn=stream, StartingPosition="TRIM_HORIZON", BatchSize=2
    )

    def sequences():
        return [r["dynamodb"]["SequenceNumber"] for e in recorded_events(backend, function) for r in e["Records"]]

    wait_for(lambda: len(sequences()) >= 10, "every record twice", timeout=20)
    wait_for(lambda: chaos._admin("idle")["idle"], "the mapping to be idle")
    seen = sequences()
    assert sorted(Counter(seen).values()) == [2] * 5, "each record exactly twice"
    batches = [[r["dynamodb"]["SequenceNumber"] for r in e["Records"]] for e in recorded_events(backend, function)]
    assert all(batches[n] == batches[n + 1] for n in range(0, len(batches), 2)), "the same batch again, in order"
    assert [int(s) for s in dict.fromkeys(seen)] == sorted(int(s) for s in set(seen)), "the shard's order is kept"
    assert len([m for m in log_messages(backend, function) if m.startswith("START")]) == len(batches)
