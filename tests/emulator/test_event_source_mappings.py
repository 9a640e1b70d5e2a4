"""Event-source mappings for SQS and DynamoDB Streams, run by pollers like the Lambda service's."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.emulator.test_event_delivery import queue, recorded_events, wait_events
from tests.lambda_helpers import deploy_source, log_messages, ready_names
from workshop.core.waiting import wait_for

BATCH_RECORDER = """
import json, time
def handler(event, context):
    # the wall clock in ns orders batches that ran on different workers within one millisecond,
    # where the log's millisecond timestamps tie
    print("EVENT " + json.dumps({**event, "startedNs": time.time_ns()}))
    failures = []
    for record in event["Records"]:
        body = record.get("body", "")
        if "poison" in body:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""


@pytest.fixture
def names(backend, prefix):
    return ready_names(backend, prefix)


def _mapping(backend, function, source_arn, **options):
    lam = backend.client("lambda")
    uuid = lam.create_event_source_mapping(FunctionName=function, EventSourceArn=source_arn, **options)["UUID"]
    return uuid


def _send(backend, url, bodies):
    sqs = backend.client("sqs")
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])],
        )


def _attribute(backend, url, name):
    attributes = backend.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"]
    return int(attributes[name])


def test_sqs_mapping_honours_batch_size_and_deletes_processed(backend, names):
    deploy_source(backend, names, "batcher", BATCH_RECORDER)
    function = names.function("batcher")
    url, arn = queue(backend, names, "jobs")
    _send(backend, url, [json.dumps({"job": i}) for i in range(7)])
    _mapping(backend, function, arn, BatchSize=3, MaximumBatchingWindowInSeconds=5)
    events = wait_for(
        lambda: (
            sum(len(e["Records"]) for e in recorded_events(backend, function)) >= 7
            and recorded_events(backend, function)
        ),
        "7 records",
    )
    assert all(len(e["Records"]) <= 3 for e in events)
    record = events[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert sorted(json.loads(r["body"])["job"] for e in events for r in e["Records"]) == list(range(7))
    wait_for(
        lambda: (
            _attribute(backend, url, "ApproximateNumberOfMessages") == 0
            and _attribute(backend, url, "ApproximateNumberOfMessagesNotVisible") == 0
        ),
        "the queue to empty",
    )


def test_partial_batch_failure_and_redrive_to_dlq(backend, names):
    deploy_source(backend, names, "batcher", BATCH_RECORDER)
    function = names.function("batcher")
    dlq_url, dlq_arn = queue(backend, names, "jobs-dlq")
    url, arn = queue(
        backend,
        names,
        "jobs",
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
    )
    _send(backend, url, ["good 1", "poison pill", "good 2"])
    _mapping(backend, function, arn, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    message = wait_for(
        lambda: backend.client("sqs").receive_message(QueueUrl=dlq_url).get("Messages"),
        "the poison message in the dead-letter queue",
        timeout=20,
    )[0]
    assert message["Body"] == "poison pill"
    bodies = [r["body"] for e in recorded_events(backend, function) for r in e["Records"]]
    assert bodies.count("good 1") == 1 and bodies.count("good 2") == 1, "good messages are processed once"
    assert bodies.count("poison pill") == 2, "tried maxReceiveCount times"


def test_filter_criteria_drop_non_matching_sqs_messages(backend, names):
    deploy_source(backend, names, "batcher", BATCH_RECORDER)
    function = names.function("batcher")
    url, arn = queue(backend, names, "jobs")
    _mapping(
        backend, function, arn, FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["paid"]}})}]}
    )
    _send(backend, url, [json.dumps({"kind": "paid", "n": 1}), json.dumps({"kind": "free", "n": 2}), "plain text"])
    wait_events(backend, function, 1)
    wait_for(
        lambda: (
            _attribute(backend, url, "ApproximateNumberOfMessages") == 0
            and _attribute(backend, url, "ApproximateNumberOfMessagesNotVisible") == 0
        ),
        "filtered messages deleted too",
    )
    bodies = [json.loads(r["body"]) for e in recorded_events(backend, function) for r in e["Records"]]
    assert bodies == [{"kind": "paid", "n": 1}]


def _stream_table(backend, names, purpose, view="NEW_AND_OLD_IMAGES"):
    ddb = backend.client("dynamodb")
    table = names.table(purpose)
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )
    return table, ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]


STREAM_RECORDER = """
import json
def handler(event, context):
    for record in event["Records"]:
        print("RECORD " + json.dumps({"name": record["eventName"], "seq": record["dynamodb"]["SequenceNumber"],
                                      "id": record["dynamodb"]["Keys"]["id"]["S"]}))
    if any(r["dynamodb"].get("NewImage", {}).get("fail") for r in event["Records"]):
        raise RuntimeError("cannot process this batch")
    return None
"""


def _stream_records(backend, function):
    return [json.loads(m[len("RECORD ") :]) for m in log_messages(backend, function) if m.startswith("RECORD ")]


def test_stream_mapping_delivers_in_order_and_readers_still_see_records(backend, names):
    deploy_source(backend, names, "streamer", STREAM_RECORDER)
    function = names.function("streamer")
    table, stream_arn = _stream_table(backend, names, "scores")
    ddb = backend.client("dynamodb")
    for i in range(5):
        ddb.put_item(TableName=table, Item={"id": {"S": f"item-{i}"}, "n": {"N": str(i)}})
    ddb.update_item(
        TableName=table,
        Key={"id": {"S": "item-0"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "10"}},
    )
    ddb.delete_item(TableName=table, Key={"id": {"S": "item-1"}})
    _mapping(backend, function, stream_arn, StartingPosition="TRIM_HORIZON", BatchSize=2)
    records = wait_for(
        lambda: len(_stream_records(backend, function)) >= 7 and _stream_records(backend, function), "7 stream records"
    )
    assert [r["name"] for r in records] == ["INSERT"] * 5 + ["MODIFY", "REMOVE"]
    assert [int(r["seq"]) for r in records] == sorted(int(r["seq"]) for r in records)
    streams = backend.client("dynamodbstreams")  # a plain boto3 client, no special configuration
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    assert len(streams.get_records(ShardIterator=iterator)["Records"]) == 7


def _all_stream_records(backend, stream_arn):
    streams = backend.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    return streams.get_records(ShardIterator=iterator)["Records"]


def test_stream_records_follow_changes_as_aws_writes_them(backend, names):
    table, stream_arn = _stream_table(backend, names, "writes")
    ddb = backend.client("dynamodb")
    # an UpdateItem that creates the item: one INSERT carrying the whole new image
    ddb.update_item(
        TableName=table,
        Key={"id": {"S": "a"}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    # writes that change no data: no record at all
    ddb.put_item(TableName=table, Item={"id": {"S": "a"}, "n": {"N": "1"}})
    ddb.update_item(
        TableName=table,
        Key={"id": {"S": "a"}},
        UpdateExpression="SET n = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    # a write that changes the item: one MODIFY
    ddb.update_item(
        TableName=table,
        Key={"id": {"S": "a"}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    records = _all_stream_records(backend, stream_arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]
    assert records[0]["dynamodb"]["NewImage"] == {"id": {"S": "a"}, "n": {"N": "1"}}
    assert records[1]["dynamodb"]["OldImage"]["n"] == {"N": "1"}
    assert records[1]["dynamodb"]["NewImage"]["n"] == {"N": "2"}


def test_stream_retries_then_on_failure_destination(backend, names):
    deploy_source(backend, names, "streamer", STREAM_RECORDER)
    function = names.function("streamer")
    table, stream_arn = _stream_table(backend, names, "scores")
    failures_url, failures_arn = queue(backend, names, "stream-failures")
    ddb = backend.client("dynamodb")
    ddb.put_item(TableName=table, Item={"id": {"S": "bad"}, "fail": {"BOOL": True}})
    ddb.put_item(TableName=table, Item={"id": {"S": "after"}})
    _mapping(
        backend,
        function,
        stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    message = wait_for(
        lambda: backend.client("sqs").receive_message(QueueUrl=failures_url).get("Messages"),
        "the failed batch's record",
        timeout=20,
    )[0]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    wait_for(
        lambda: any(r["id"] == "after" for r in _stream_records(backend, function)),
        "the shard to move on after the failed batch",
    )
    ids = [r["id"] for r in _stream_records(backend, function)]
    assert ids.count("bad") == 3 and ids.index("after") > max(i for i, x in enumerate(ids) if x == "bad")


def test_stream_filter_and_latest_and_disable(backend, names):
    deploy_source(backend, names, "streamer", STREAM_RECORDER)
    function = names.function("streamer")
    table, stream_arn = _stream_table(backend, names, "scores")
    ddb = backend.client("dynamodb")
    ddb.put_item(TableName=table, Item={"id": {"S": "before-mapping"}})
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["wanted"]}}}}
    uuid = _mapping(
        backend,
        function,
        stream_arn,
        StartingPosition="LATEST",
        FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]},
    )
    lam = backend.client("lambda")
    wait_for(
        lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled",
        "the mapping to take its LATEST position (State Creating -> Enabled)",
    )
    ddb.put_item(TableName=table, Item={"id": {"S": "unwanted"}, "kind": {"S": "other"}})
    ddb.put_item(TableName=table, Item={"id": {"S": "wanted-1"}, "kind": {"S": "wanted"}})
    wait_for(lambda: _stream_records(backend, function), "the wanted record")
    lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    time.sleep(0.4)
    ddb.put_item(TableName=table, Item={"id": {"S": "wanted-2"}, "kind": {"S": "wanted"}})
    time.sleep(0.6)
    assert [r["id"] for r in _stream_records(backend, function)] == ["wanted-1"], "paused while disabled"
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    wait_for(lambda: len(_stream_records(backend, function)) == 2, "the paused record after re-enabling")
    assert [r["id"] for r in _stream_records(backend, function)] == ["wanted-1", "wanted-2"]


def test_invalid_filter_patterns_are_refused_at_creation(backend, names):
    from botocore.exceptions import ClientError

    deploy_source(backend, names, "batcher", BATCH_RECORDER)
    _, arn = queue(backend, names, "jobs")
    lam = backend.client("lambda")
    for pattern in ('{"body": "not a list"}', "{not json", '{"body": [{"unknown-op": 1}]}'):
        with pytest.raises(ClientError) as error:
            lam.create_event_source_mapping(
                FunctionName=names.function("batcher"),
                EventSourceArn=arn,
                FilterCriteria={"Filters": [{"Pattern": pattern}]},
            )
        assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert "Invalid filter pattern definition" in error.value.response["Error"]["Message"]
    assert lam.list_event_source_mappings(FunctionName=names.function("batcher"))["EventSourceMappings"] == []
    uuid = _mapping(backend, names.function("batcher"), arn)
    with pytest.raises(ClientError):
        lam.update_event_source_mapping(UUID=uuid, FilterCriteria={"Filters": [{"Pattern": "[]"}]})


def test_fifo_queue_batches_keep_group_order(backend, names):
    deploy_source(backend, names, "batcher", BATCH_RECORDER)
    function = names.function("batcher")
    url, arn = _fifo_queue(backend, names)
    sqs = backend.client("sqs")
    for group in ("a", "b"):
        for i in range(6):
            sqs.send_message(QueueUrl=url, MessageBody=f"{group}{i}", MessageGroupId=group)
    sqs.send_message(QueueUrl=url, MessageBody="a0", MessageGroupId="a")  # deduplicated: same content
    _mapping(backend, function, arn, BatchSize=4)
    wait_for(lambda: sum(len(e["Records"]) for e in recorded_events(backend, function)) >= 12, "12 records")
    batches = sorted(recorded_events(backend, function), key=lambda e: e["startedNs"])
    bodies = [r["body"] for e in batches for r in e["Records"]]
    assert len(bodies) == 12
    for group in ("a", "b"):
        assert [b for b in bodies if b[0] == group] == [f"{group}{i}" for i in range(6)]
    record = recorded_events(backend, function)[0]["Records"][0]
    assert record["attributes"]["MessageGroupId"] in ("a", "b") and "SequenceNumber" in record["attributes"]


def _fifo_queue(backend, names):
    sqs = backend.client("sqs")
    url = sqs.create_queue(
        QueueName=names.queue("orders", fifo=True),
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def test_bisect_isolates_the_failing_record(backend, names):
    deploy_source(backend, names, "streamer", STREAM_RECORDER)
    function = names.function("streamer")
    table, stream_arn = _stream_table(backend, names, "scores")
    failures_url, failures_arn = queue(backend, names, "stream-failures")
    ddb = backend.client("dynamodb")
    for i in range(4):
        item = {"id": {"S": f"r{i}"}}
        if i == 2:
            item["fail"] = {"BOOL": True}
        ddb.put_item(TableName=table, Item=item)
    _mapping(
        backend,
        function,
        stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    message = wait_for(
        lambda: backend.client("sqs").receive_message(QueueUrl=failures_url).get("Messages"),
        "the isolated failing record",
        timeout=20,
    )[0]
    info = json.loads(message["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1, "bisecting narrows the failure down to the one bad record"
    wait_for(lambda: "r3" in [r["id"] for r in _stream_records(backend, function)], "the records after it")
    delivered = [r["id"] for r in _stream_records(backend, function)]
    assert delivered[:4] == ["r0", "r1", "r2", "r3"] and delivered.count("r3") >= 1


def _empty_receives(backend, queue_name, seconds):
    """NumberOfEmptyReceives the emulator published for the queue over the last few seconds."""
    end = datetime.now(UTC)
    datapoints = backend.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="NumberOfEmptyReceives",
        Statistics=["Sum", "SampleCount"],
        Period=60,
        Dimensions=[{"Name": "QueueName", "Value": queue_name}],
        StartTime=end - timedelta(seconds=seconds + 1),
        EndTime=end + timedelta(seconds=1),
    )["Datapoints"]
    return sum(point["Sum"] for point in datapoints), sum(point["SampleCount"] for point in datapoints)


def test_an_idle_mapping_costs_no_calls_and_still_delivers_at_once(backend, names):
    """A class leaves dozens of idle mappings on one emulator; each used to long-poll its queue
    through the API without end. It now looks for messages in process, and a message is still
    handed over within a fraction of a second."""
    deploy_source(backend, names, "batcher", BATCH_RECORDER)
    function = names.function("batcher")
    url, arn = queue(backend, names, "idle")
    uuid = _mapping(backend, function, arn)
    lam = backend.client("lambda")
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", "the mapping to poll")
    time.sleep(3)
    empty, publications = _empty_receives(backend, names.queue("idle"), 3)
    assert publications >= 2, "the queue's metrics were not published"
    assert empty == 0, f"the idle mapping made {empty:g} empty ReceiveMessage calls"
    sent = time.monotonic()
    backend.client("sqs").send_message(QueueUrl=url, MessageBody="hello")
    wait_for(lambda: recorded_events(backend, function), "the message", interval=0.02, max_interval=0.05)
    # generous for a busy CI machine; a poller that long-polled or slept would still pass, the
    # call count above is what would fail
    assert time.monotonic() - sent < 10


def test_a_fifo_group_in_flight_holds_only_its_own_messages(backend, names):
    """While a group's message is being handled its later messages are held back (the poller
    then finds nothing deliverable instead of spinning in a long poll), and each group is
    delivered in order once its message is done."""
    deploy_source(
        backend,
        names,
        "slow",
        """
import json, time
def handler(event, context):
    print("EVENT " + json.dumps({**event, "startedNs": time.time_ns()}))
    if any(r["body"] == "a0" for r in event["Records"]):
        time.sleep(2)
""",
    )
    function = names.function("slow")
    url, arn = _fifo_queue(backend, names)
    sqs = backend.client("sqs")
    for body in ("a0", "a1", "b0", "b1"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=body[0])
    _mapping(backend, function, arn, BatchSize=1)
    wait_for(lambda: sum(len(e["Records"]) for e in recorded_events(backend, function)) >= 4, "4 records", timeout=60)
    batches = sorted(recorded_events(backend, function), key=lambda e: e["startedNs"])
    bodies = [r["body"] for e in batches for r in e["Records"]]
    assert sorted(bodies) == ["a0", "a1", "b0", "b1"]
    assert bodies.index("a0") < bodies.index("a1") and bodies.index("b0") < bodies.index("b1")


OVERLAP_RECORDER = """
import json, time
def handler(event, context):
    started = time.time()
    time.sleep(1.5)  # longer than a cold start on a busy machine: the batches do overlap
    print("SPAN " + json.dumps([started, time.time()]))
"""


def _most_at_once(spans):
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


@pytest.mark.parametrize("maximum_concurrency, expected", [(None, 4), (2, 2)])
def test_an_sqs_mapping_keeps_several_batches_in_flight(backend, names, maximum_concurrency, expected):
    """AWS scales an SQS mapping's pollers out; the emulator keeps up to the function's
    concurrency (4) batches in flight, or the mapping's MaximumConcurrency when lower."""
    purpose = f"overlap{maximum_concurrency or 0}"
    deploy_source(backend, names, purpose, OVERLAP_RECORDER)
    function = names.function(purpose)
    url, arn = queue(backend, names, purpose)
    _send(backend, url, [f"job {i}" for i in range(8)])
    options = {"ScalingConfig": {"MaximumConcurrency": maximum_concurrency}} if maximum_concurrency else {}
    _mapping(backend, function, arn, BatchSize=1, **options)

    def spans():
        found = [json.loads(m[len("SPAN ") :]) for m in log_messages(backend, function) if m.startswith("SPAN ")]
        return len(found) == 8 and found

    assert _most_at_once(wait_for(spans, "8 batches", timeout=60)) == expected


def test_a_mapping_hands_over_messages_as_receive_message_returns_them(backend, names):
    """The poller receives in process; what the function gets must be what it would make of the
    API's ReceiveMessage for every attribute: body, message attributes of each type, the FIFO
    system attributes and the sender's trace header."""
    from workshop.aws import events as aws_events

    deploy_source(backend, names, "batcher", BATCH_RECORDER)
    function = names.function("batcher")
    sqs = backend.client("sqs")
    url = sqs.create_queue(
        QueueName=names.queue("handover", fifo=True), Attributes={"FifoQueue": "true"}, tags=names.tag
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"job": 1}',
        MessageGroupId="g1",
        MessageDeduplicationId="d1",
        MessageAttributes={
            "text": {"DataType": "String", "StringValue": "über"},
            "count": {"DataType": "Number", "StringValue": "42"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffdata"},
            "custom": {"DataType": "String.kind", "StringValue": "x"},
        },
        MessageSystemAttributes={
            "AWSTraceHeader": {
                "DataType": "String",
                "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
            }
        },
    )
    [message] = sqs.receive_message(
        QueueUrl=url,
        VisibilityTimeout=0,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )["Messages"]
    expected = aws_events.sqs_lambda_record(message, queue_arn=arn, region=backend.region)
    _mapping(backend, function, arn, BatchSize=1)
    [event] = wait_for(lambda: recorded_events(backend, function), "the message")
    [record] = event["Records"]
    changing = ("ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp")
    for name in changing:
        assert record["attributes"].pop(name) and expected["attributes"].pop(name)
    assert record.pop("receiptHandle") != expected.pop("receiptHandle")
    assert record == expected
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AP9kYXRh"


def test_a_poller_whose_queue_or_stream_is_gone_says_so():
    """Read in process, a missing queue or stream is no API error: the pollers raise SourceGone,
    which their loop prints (the source was deleted) before it waits and looks again."""
    from types import SimpleNamespace

    from workshop.emulator.functions.poller_base import SourceGone
    from workshop.emulator.functions.sqs_poller import SqsPoller
    from workshop.emulator.functions.stream_poller import StreamPoller

    # no such mapping in this process's moto: each poller's own thread ends at once
    service = SimpleNamespace(settings=SimpleNamespace(scaled=lambda seconds: seconds))
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:never-made"
    with pytest.raises(SourceGone, match=f"the queue {queue_arn} does not exist"):
        SqsPoller(service, "us-east-1", "no-such-mapping").poll_once({"EventSourceArn": queue_arn})
    stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/never-made/stream/2026-12-06T00:00:00.000"
    with pytest.raises(SourceGone, match="the stream .* does not exist"):
        StreamPoller(service, "us-east-1", "no-such-mapping").poll_once({"EventSourceArn": stream_arn})
