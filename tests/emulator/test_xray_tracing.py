"""Tracing as AWS does it, read through X-Ray's API: a traced upload's journey, redeliveries and
duplicates told apart, what PassThrough and an unsampled request leave, the API's refusals.

The handler is step 2's idempotent copier: a conditional write in DynamoDB, then a copy. The
upload carries a trace header as an instrumented client's would; S3 passes it on to the
notification, Lambda continues the trace (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-s3.html).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tests.emulator.test_event_delivery import notify_lambda
from tests.emulator.test_event_source_mappings import _mapping, _stream_table
from tests.lambda_helpers import deploy_source, invoke, ready_names
from workshop.aws import xray
from workshop.aws.xray import TraceHeader, new_segment_id
from workshop.core.waiting import wait_for
from workshop.lab_helpers import chaos

COPIER = """
import os
import boto3

def handler(event, context):
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    record = event["Records"][0]["s3"]
    bucket, key = record["bucket"]["name"], record["object"]["key"]
    try:
        ddb.put_item(
            TableName=os.environ["TABLE"],
            Item={"id": {"S": key}},
            ConditionExpression="attribute_not_exists(id)",
        )
    except ddb.exceptions.ConditionalCheckFailedException:
        return {"already": key}
    s3.copy_object(Bucket=os.environ["OUT"], Key=key, CopySource={"Bucket": bucket, "Key": key})
    return {"copied": key}
"""
ECHO_TRACE = """
import os
def handler(event, context):
    return os.environ.get("_X_AMZN_TRACE_ID")
"""


@pytest.fixture
def pipeline(backend, prefix):
    names = ready_names(backend, prefix)
    table, out = f"{prefix}-seen", f"{prefix}-out"
    backend.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    backend.client("s3").create_bucket(Bucket=out)
    function = names.function("copier")
    deploy_source(
        backend, names, "copier", COPIER, environment={"TABLE": table, "OUT": out}, TracingConfig={"Mode": "Active"}
    )
    incoming = names.bucket("incoming")
    notify_lambda(backend, names, incoming, function)
    return {"names": names, "function": function, "incoming": incoming, "out": out}


def traced_upload(backend, bucket: str, key: str, body: bytes = b"a,b\n1,2\n") -> TraceHeader:
    header = TraceHeader.start().under(new_segment_id())
    s3 = backend.client("s3")
    with xray.sending(s3, header):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return header


def segments_of(traces, trace_id: str) -> list[dict]:
    traces = traces.batch_get_traces(TraceIds=[trace_id])["Traces"]
    return [json.loads(s["Document"]) for t in traces for s in t["Segments"]]


def wait_segments(traces, trace_id: str, count: int) -> list[dict]:
    return wait_for(
        lambda: (found := segments_of(traces, trace_id)) and len(found) >= count and found,
        f"{count} segments of trace {trace_id}",
        timeout=20,
    )


def calls(function_segment: dict) -> list[tuple[str, str, bool]]:
    """(service, operation, error) of each AWS call recorded under the handler."""
    return [
        (s["name"], s["aws"].get("operation"), bool(s.get("error")))
        for s in function_segment.get("subsegments", [])
        if s.get("namespace") == "aws"
    ]


def test_a_traced_upload_continues_its_trace_through_the_function_and_its_calls(backend, pipeline):
    traces = backend.client("xray")
    header = traced_upload(backend, pipeline["incoming"], "orders/1.csv")
    segments = wait_segments(traces, header.root, 2)
    by_origin = {s["origin"]: s for s in segments}
    service, function = by_origin["AWS::Lambda"], by_origin["AWS::Lambda::Function"]
    assert service["name"] == function["name"] == pipeline["function"]
    assert service["parent_id"] == header.parent, "Lambda's segment hangs under the uploader's"
    assert function["parent_id"] == service["id"]
    assert service["trace_id"] == function["trace_id"] == header.root
    assert calls(function) == [("DynamoDB", "PutItem", False), ("S3", "CopyObject", False)]
    put = next(s for s in function["subsegments"] if s["name"] == "DynamoDB")
    assert put["aws"]["table_name"].endswith("-seen")
    assert put["metadata"]["emulator"]["recorded_by"].startswith("the emulator")
    assert "fault" not in function and "annotations" not in service  # nothing the emulator added

    now = datetime.now(UTC)
    summaries = traces.get_trace_summaries(StartTime=now - timedelta(minutes=5), EndTime=now)["TraceSummaries"]
    mine = [s for s in summaries if s["Id"] == header.root]
    assert len(mine) == 1 and not mine[0]["HasError"] and not mine[0]["HasFault"]
    assert {"Name": pipeline["function"], "Names": [pipeline["function"]], "Type": "AWS::Lambda::Function"} in mine[0][
        "ServiceIds"
    ]


def test_a_redelivery_stays_in_its_trace_and_a_second_upload_is_a_trace_of_its_own(
    backend, pipeline, in_process_backend
):
    traces = backend.client("xray")
    with chaos.switched(duplicate_rate=1.0):
        redelivered = traced_upload(backend, pipeline["incoming"], "orders/2.csv")
        segments = wait_segments(traces, redelivered.root, 4)
    invocations = [s for s in segments if s["origin"] == "AWS::Lambda"]
    assert len(invocations) == 2, "one upload, delivered twice: two invocations in one trace"
    notes = sorted(s.get("annotations", {}).get("emulator_delivery", "first") for s in invocations)
    assert notes == ["duplicate (teaching switch)", "first"]
    outcomes = sorted(calls(s) for s in segments if s["origin"] == "AWS::Lambda::Function")
    assert outcomes == [[("DynamoDB", "PutItem", False), ("S3", "CopyObject", False)], [("DynamoDB", "PutItem", True)]]
    refused = next(
        c for s in segments if s["origin"] == "AWS::Lambda::Function" for c in s["subsegments"] if c.get("error")
    )
    assert refused["cause"]["exceptions"][0]["type"] == "ConditionalCheckFailedException"

    again = traced_upload(backend, pipeline["incoming"], "orders/2.csv")  # the same file uploaded again
    second = wait_segments(traces, again.root, 2)
    assert again.root != redelivered.root
    assert [s.get("annotations") for s in second if s["origin"] == "AWS::Lambda"] == [None], "a delivery like any other"
    assert [calls(s) for s in second if s["origin"] == "AWS::Lambda::Function"] == [[("DynamoDB", "PutItem", True)]]


def test_passthrough_and_unsampled_requests_record_nothing_but_pass_the_header_on(backend, prefix):
    names = ready_names(backend, prefix)
    passthrough = deploy_source(backend, names, "plain", ECHO_TRACE)
    active = deploy_source(backend, names, "traced", ECHO_TRACE, TracingConfig={"Mode": "Active"})
    traces = backend.client("xray")

    _, seen = invoke(backend, passthrough)
    header = TraceHeader.parse(seen)
    assert header is not None and header.sampled is False, f"Lambda starts a trace it does not sample: {seen}"
    unsampled = TraceHeader.start(sampled=False).under(new_segment_id())
    with xray.sending(backend.client("lambda"), unsampled):
        _, seen_active = invoke(backend, active)
    assert TraceHeader.parse(seen_active).root == unsampled.root
    _, seen_sampled = invoke(backend, active)
    sampled = TraceHeader.parse(seen_sampled)
    assert sampled.sampled is True and sampled.parent, "an Active function's handler sees its own segment as parent"
    wait_segments(traces, sampled.root, 2)
    time.sleep(0.2)
    found = traces.batch_get_traces(TraceIds=[header.root, unsampled.root])
    assert found["Traces"] == [] and sorted(found["UnprocessedTraceIds"]) == sorted([header.root, unsampled.root])


def test_a_failing_handler_is_a_fault_with_its_exception(backend, prefix):
    names = ready_names(backend, prefix)
    function = deploy_source(
        backend,
        names,
        "broken",
        "def handler(event, context):\n    raise ValueError('bad row 3')\n",
        TracingConfig={"Mode": "Active"},
    )
    header = TraceHeader.start().under(new_segment_id())
    with xray.sending(backend.client("lambda"), header):
        invoke(backend, function)
    segments = wait_segments(backend.client("xray"), header.root, 2)
    failed = next(s for s in segments if s["origin"] == "AWS::Lambda::Function")
    assert failed["fault"] is True
    assert failed["cause"]["exceptions"][0]["type"] == "ValueError"
    assert failed["cause"]["exceptions"][0]["message"] == "bad row 3"


def test_the_api_refuses_what_xray_refuses_and_draws_the_graph(backend, prefix):
    traces = backend.client("xray")
    trace_id = TraceHeader.start().root
    client_id, now = new_segment_id(), time.time()
    good = {
        "name": f"{prefix}-notebook",
        "id": client_id,
        "trace_id": trace_id,
        "start_time": now,
        "end_time": now + 0.1,
    }
    call = {
        "name": "DynamoDB",
        "id": new_segment_id(),
        "trace_id": trace_id,
        "parent_id": client_id,
        "type": "subsegment",
        "namespace": "aws",
        "start_time": now,
        "end_time": now + 0.05,
        "error": True,
        "aws": {"operation": "PutItem", "table_name": f"{prefix}-seen"},
    }
    answer = traces.put_trace_segments(
        TraceSegmentDocuments=[
            json.dumps(good),
            json.dumps(call),
            "{not json",
            json.dumps({"name": "x", "id": new_segment_id(), "trace_id": trace_id, "start_time": now}),
        ]
    )
    assert [u["ErrorCode"] for u in answer["UnprocessedTraceSegments"]] == ["JSONFormatError", "MissingParam"]
    (document,) = segments_of(traces, trace_id)
    assert [s["name"] for s in document["subsegments"]] == ["DynamoDB"], "a subsegment sent alone joins its parent"

    with pytest.raises(ClientError) as too_many:
        traces.batch_get_traces(TraceIds=[TraceHeader.start().root for _ in range(6)])
    assert "less than or equal to 5" in str(too_many.value)
    with pytest.raises(ClientError) as unsupported:
        traces.get_trace_summaries(StartTime=now - 60, EndTime=now + 60, FilterExpression="responsetime > 5")
    assert "not supported" in str(unsupported.value)

    window = {"StartTime": now - 60, "EndTime": now + 60}
    flagged = traces.get_trace_summaries(**window, FilterExpression=f'service("{prefix}-notebook") AND error')
    assert [s["Id"] for s in flagged["TraceSummaries"]] == [trace_id]
    services = {s["Name"]: s for s in traces.get_service_graph(**window)["Services"]}
    notebook, table = services[f"{prefix}-notebook"], services[f"{prefix}-seen"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    (edge,) = [e for e in notebook["Edges"] if e["ReferenceId"] == table["ReferenceId"]]
    assert edge["SummaryStatistics"]["ErrorStatistics"]["TotalCount"] == 1


RECEIVER = """
def handler(event, context):
    return len(event["Records"])
"""


def linked_to(traces, root: str, since: float) -> list[list[dict]]:
    """The traces whose Lambda segment links to trace ``root`` (an SQS consumer's)."""
    window = {"StartTime": since - 5, "EndTime": time.time() + 5}
    found = []
    for summary in traces.get_trace_summaries(**window)["TraceSummaries"]:
        segments = segments_of(traces, summary["Id"])
        if any(link["trace_id"] == root for s in segments for link in s.get("links", [])):
            found.append(segments)
    return found


def test_sns_continues_the_trace_and_an_sqs_consumer_is_linked_to_it(backend, prefix):
    names = ready_names(backend, prefix)
    client = backend.client("xray")
    subscriber = deploy_source(backend, names, "subscriber", RECEIVER, TracingConfig={"Mode": "Active"})
    consumer = deploy_source(backend, names, "consumer", RECEIVER, TracingConfig={"Mode": "Active"})
    sns, sqs, lam = backend.client("sns"), backend.client("sqs"), backend.client("lambda")
    topic = sns.create_topic(Name=f"{prefix}-alerts")["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=lam.get_function(FunctionName=subscriber)["Configuration"]["FunctionArn"],
    )
    published = TraceHeader.start().under(new_segment_id())
    with xray.sending(sns, published):
        sns.publish(TopicArn=topic, Message="disk full")
    segments = wait_segments(client, published.root, 2)
    (service,) = [s for s in segments if s["origin"] == "AWS::Lambda"]
    assert service["parent_id"] == published.parent, "SNS passes the publisher's trace on to the function"

    url = sqs.create_queue(QueueName=f"{prefix}-jobs")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sent = TraceHeader.start().under(new_segment_id())
    since = time.time()
    with xray.sending(sqs, sent):
        sqs.send_message(QueueUrl=url, MessageBody="job 1")
    kept = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"], VisibilityTimeout=0)
    assert kept["Messages"][0]["Attributes"]["AWSTraceHeader"] == str(sent), "SQS keeps the sender's header"
    _mapping(backend, consumer, queue_arn, BatchSize=10)
    (consumed,) = wait_for(lambda: linked_to(client, sent.root, since), "the consumer's trace, linked to the sender's")
    (service,) = [s for s in consumed if s["origin"] == "AWS::Lambda"]
    assert service["trace_id"] != sent.root and "parent_id" not in service, "a trace of its own"
    assert service["links"] == [{"trace_id": sent.root, "id": sent.parent}]
    assert service["annotations"] == {"emulator_delivery": "receive 2"}, "the test's own receive came first"


def test_a_stream_consumer_starts_its_own_trace_and_a_filtered_record_is_told_in_the_writers(backend, prefix):
    names = ready_names(backend, prefix)
    client = backend.client("xray")
    consumer = deploy_source(backend, names, "totals", RECEIVER, TracingConfig={"Mode": "Active"})
    table, stream_arn = _stream_table(backend, names, "scores")
    uuid = _mapping(
        backend,
        consumer,
        stream_arn,
        StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]},
    )
    wait_for(lambda: backend.client("lambda").get_event_source_mapping(UUID=uuid)["State"] == "Enabled", "the mapping")
    ddb = backend.client("dynamodb")
    inserted, modified = (TraceHeader.start().under(new_segment_id()) for _ in range(2))
    since = time.time()
    with xray.sending(ddb, inserted):
        ddb.put_item(TableName=table, Item={"id": {"S": "ana"}, "score": {"N": "1"}})
    with xray.sending(ddb, modified):
        ddb.put_item(TableName=table, Item={"id": {"S": "ana"}, "score": {"N": "2"}})

    (dropped,) = wait_segments(client, modified.root, 1)
    assert dropped["origin"] == "emulator::EventSourceMapping" and dropped["name"] == names.function("totals")
    assert dropped["annotations"] == {"emulator_filtered": "MODIFY", "emulator_source": table}
    assert dropped["parent_id"] == modified.parent

    def consumer_trace():
        window = {"StartTime": since - 5, "EndTime": time.time() + 5}
        answer = client.get_trace_summaries(
            **window, FilterExpression=f'annotation.emulator_caused_by = "{inserted.root}"'
        )
        return answer["TraceSummaries"]

    (summary,) = wait_for(consumer_trace, "the consumer's trace, told of the write that caused it")
    assert summary["Id"] != inserted.root, "AWS passes no trace through a stream: the consumer's is new"
    assert segments_of(client, inserted.root) == [], "nothing was recorded in the writer's trace for the insert"
