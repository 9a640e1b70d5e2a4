"""Tracing as AWS does it, read through X-Ray's API: a traced upload's journey, redeliveries and
duplicates told apart, what PassThrough and an unsampled request leave, the API's refusals.

The handler is step 2's idempotent copier: a conditional write in DynamoDB, then a copy. The
upload carries a trace header as an instrumented client's would; S3 passes it on to the
notification, Lambda continues the trace (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-s3.html).
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tests.emulator.test_event_delivery import notify_lambda
from tests.lambda_helpers import deploy_source, invoke, ready_names
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


@contextlib.contextmanager
def sent_with(client, operation: str, header: TraceHeader):
    """The client's ``operation`` calls carry ``header``, as the X-Ray SDK's instrumented client sends it."""
    event = f"before-sign.{client.meta.service_model.endpoint_prefix}.{operation}"

    def add_header(request, **_):
        request.headers["X-Amzn-Trace-Id"] = str(header)

    client.meta.events.register(event, add_header)
    try:
        yield
    finally:
        client.meta.events.unregister(event, add_header)


def traced_upload(backend, bucket: str, key: str, body: bytes = b"a,b\n1,2\n") -> TraceHeader:
    header = TraceHeader.start().under(new_segment_id())
    s3 = backend.client("s3")
    with sent_with(s3, "PutObject", header):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return header


def segments_of(xray, trace_id: str) -> list[dict]:
    traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
    return [json.loads(s["Document"]) for t in traces for s in t["Segments"]]


def wait_segments(xray, trace_id: str, count: int) -> list[dict]:
    return wait_for(
        lambda: (found := segments_of(xray, trace_id)) and len(found) >= count and found,
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
    xray = backend.client("xray")
    header = traced_upload(backend, pipeline["incoming"], "orders/1.csv")
    segments = wait_segments(xray, header.root, 2)
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
    summaries = xray.get_trace_summaries(StartTime=now - timedelta(minutes=5), EndTime=now)["TraceSummaries"]
    mine = [s for s in summaries if s["Id"] == header.root]
    assert len(mine) == 1 and not mine[0]["HasError"] and not mine[0]["HasFault"]
    assert {"Name": pipeline["function"], "Names": [pipeline["function"]], "Type": "AWS::Lambda::Function"} in mine[0][
        "ServiceIds"
    ]


def test_a_redelivery_stays_in_its_trace_and_a_second_upload_is_a_trace_of_its_own(
    backend, pipeline, in_process_backend
):
    xray = backend.client("xray")
    with chaos.switched(duplicate_rate=1.0):
        redelivered = traced_upload(backend, pipeline["incoming"], "orders/2.csv")
        segments = wait_segments(xray, redelivered.root, 4)
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
    second = wait_segments(xray, again.root, 2)
    assert again.root != redelivered.root
    assert [s.get("annotations") for s in second if s["origin"] == "AWS::Lambda"] == [None], "a delivery like any other"
    assert [calls(s) for s in second if s["origin"] == "AWS::Lambda::Function"] == [[("DynamoDB", "PutItem", True)]]


def test_passthrough_and_unsampled_requests_record_nothing_but_pass_the_header_on(backend, prefix):
    names = ready_names(backend, prefix)
    passthrough = deploy_source(backend, names, "plain", ECHO_TRACE)
    active = deploy_source(backend, names, "traced", ECHO_TRACE, TracingConfig={"Mode": "Active"})
    xray = backend.client("xray")

    _, seen = invoke(backend, passthrough)
    header = TraceHeader.parse(seen)
    assert header is not None and header.sampled is False, f"Lambda starts a trace it does not sample: {seen}"
    unsampled = TraceHeader.start(sampled=False).under(new_segment_id())
    with sent_with(backend.client("lambda"), "Invoke", unsampled):
        _, seen_active = invoke(backend, active)
    assert TraceHeader.parse(seen_active).root == unsampled.root
    _, seen_sampled = invoke(backend, active)
    sampled = TraceHeader.parse(seen_sampled)
    assert sampled.sampled is True and sampled.parent, "an Active function's handler sees its own segment as parent"
    wait_segments(xray, sampled.root, 2)
    time.sleep(0.2)
    found = xray.batch_get_traces(TraceIds=[header.root, unsampled.root])
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
    with sent_with(backend.client("lambda"), "Invoke", header):
        invoke(backend, function)
    segments = wait_segments(backend.client("xray"), header.root, 2)
    failed = next(s for s in segments if s["origin"] == "AWS::Lambda::Function")
    assert failed["fault"] is True
    assert failed["cause"]["exceptions"][0]["type"] == "ValueError"
    assert failed["cause"]["exceptions"][0]["message"] == "bad row 3"


def test_the_api_refuses_what_xray_refuses_and_draws_the_graph(backend, prefix):
    xray = backend.client("xray")
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
    answer = xray.put_trace_segments(
        TraceSegmentDocuments=[
            json.dumps(good),
            json.dumps(call),
            "{not json",
            json.dumps({"name": "x", "id": new_segment_id(), "trace_id": trace_id, "start_time": now}),
        ]
    )
    assert [u["ErrorCode"] for u in answer["UnprocessedTraceSegments"]] == ["JSONFormatError", "MissingParam"]
    (document,) = segments_of(xray, trace_id)
    assert [s["name"] for s in document["subsegments"]] == ["DynamoDB"], "a subsegment sent alone joins its parent"

    with pytest.raises(ClientError) as too_many:
        xray.batch_get_traces(TraceIds=[TraceHeader.start().root for _ in range(6)])
    assert "less than or equal to 5" in str(too_many.value)
    with pytest.raises(ClientError) as unsupported:
        xray.get_trace_summaries(StartTime=now - 60, EndTime=now + 60, FilterExpression="responsetime > 5")
    assert "not supported" in str(unsupported.value)

    window = {"StartTime": now - 60, "EndTime": now + 60}
    flagged = xray.get_trace_summaries(**window, FilterExpression=f'service("{prefix}-notebook") AND error')
    assert [s["Id"] for s in flagged["TraceSummaries"]] == [trace_id]
    services = {s["Name"]: s for s in xray.get_service_graph(**window)["Services"]}
    notebook, table = services[f"{prefix}-notebook"], services[f"{prefix}-seen"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    (edge,) = [e for e in notebook["Edges"] if e["ReferenceId"] == table["ReferenceId"]]
    assert edge["SummaryStatistics"]["ErrorStatistics"]["TotalCount"] == 1
