"""The journey and the service map drawn from real traces: one upload end to end, a redelivery
against a second upload of the same file, a refused write, the class's map with its counts."""

from __future__ import annotations

import time

import pytest

from tests.emulator.test_xray_tracing import pipeline  # noqa: F401 (a fixture)
from workshop.lab_helpers import chaos
from workshop.lab_helpers.diagrams import MERMAID
from workshop.lab_helpers.journey import journey, traced_upload
from workshop.lab_helpers.service_map import service_map


def declared_participants(mermaid: str) -> set[str]:
    return {line.split()[1] for line in mermaid.splitlines() if line.strip().startswith("participant ")}


def used_participants(mermaid: str) -> set[str]:
    used = set()
    for line in mermaid.splitlines()[2:]:
        line = line.strip()
        if line.startswith("participant ") or not line:
            continue
        if line.startswith("Note over "):
            used.add(line.removeprefix("Note over ").split(":")[0])
            continue
        head = line.split(":", 1)[0]
        for arrow in ("-->>", "->>", "-)", "-x"):
            if arrow in head:
                used.update(part.strip() for part in head.split(arrow))
                break
    return used


def test_one_upload_is_drawn_end_to_end(backend, pipeline, in_process_backend):  # noqa: F811
    trip = traced_upload(pipeline["incoming"], "orders/1.csv", "id,total\n1,9.50\n")
    drawn = journey(trip)
    prefix = pipeline["names"].prefix
    assert str(drawn).splitlines()[:5] == [
        f"1. notebook → S3 {prefix}-incoming: PutObject orders/1.csv ✓",
        f"2. S3 {prefix}-incoming → λ {prefix}-copier: event → invocation 1",
        f"3. λ {prefix}-copier → DynamoDB {prefix}-seen: PutItem ✓",
        f"4. λ {prefix}-copier → S3 {prefix}-out: CopyObject orders/1.csv ✓",
        str(drawn).splitlines()[4],
    ]
    assert (
        str(drawn).splitlines()[4].startswith(f"5. λ {prefix}-copier → λ {prefix}-copier: invocation 1 returned after ")
    )
    bundle = drawn._repr_mimebundle_()
    assert bundle[MERMAID].splitlines()[1] == "sequenceDiagram" and "```mermaid" in bundle["text/markdown"]
    assert used_participants(bundle[MERMAID]) <= declared_participants(bundle[MERMAID])


def test_a_redelivery_and_a_second_upload_are_different_pictures(backend, pipeline, in_process_backend):  # noqa: F811
    prefix = pipeline["names"].prefix
    with chaos.switched(duplicate_rate=1.0):
        redelivered = str(journey(traced_upload(pipeline["incoming"], "orders/2.csv", "id\n2\n")))
    deliveries = [line for line in redelivered.splitlines() if ": event → invocation" in line]
    assert len(deliveries) == 2, redelivered
    assert "   emulator: duplicate (teaching switch)" in redelivered.splitlines()
    assert f"λ {prefix}-copier → DynamoDB {prefix}-seen: PutItem ✗ ConditionalCheckFailedException" in redelivered

    uploaded_again = str(journey(traced_upload(pipeline["incoming"], "orders/2.csv", "id\n2\n")))
    assert [line for line in uploaded_again.splitlines() if ": event" in line] == [
        f"2. S3 {prefix}-incoming → λ {prefix}-copier: event → invocation 1"
    ], "a second upload is a trace of its own, delivered once"
    assert "emulator:" not in uploaded_again
    assert "PutItem ✗ ConditionalCheckFailedException" in uploaded_again and "CopyObject" not in uploaded_again


def test_the_service_map_counts_what_each_call_did(backend, pipeline, in_process_backend):  # noqa: F811
    since = time.time()
    journey(traced_upload(pipeline["incoming"], "orders/3.csv", "id\n3\n"))
    journey(traced_upload(pipeline["incoming"], "orders/3.csv", "id\n3\n"))
    prefix = pipeline["names"].prefix
    drawn = service_map(since, prefix=prefix)
    text = str(drawn).splitlines()
    assert f"{prefix}-seen (DynamoDB table): 1 ok · 1 error" in text
    assert f"  {prefix}-copier → {prefix}-seen: 1 ok · 1 error" in text
    assert f"{prefix}-out (S3 bucket): 1 ok" in text
    assert drawn._repr_mimebundle_()[MERMAID].startswith("flowchart LR")


@pytest.mark.parametrize("text", ['a "quoted"; #name', "<b>"])
def test_labels_cannot_break_the_diagram(text):
    from workshop.lab_helpers.diagrams import label

    assert not set(label(text)) & set("\"';#<>{}")


def test_a_poison_message_is_drawn_receive_by_receive_to_the_dead_letter_queue(backend, prefix, in_process_backend):
    from tests.emulator.test_event_source_mappings import _mapping
    from tests.lambda_helpers import deploy_source, ready_names
    from workshop.lab_helpers.journey import traced

    names = ready_names(backend, prefix)
    sqs = backend.client("sqs")
    dlq = sqs.create_queue(QueueName=f"{prefix}-jobs-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "2"}}'
    jobs = sqs.create_queue(QueueName=f"{prefix}-jobs", Attributes={"VisibilityTimeout": "1", "RedrivePolicy": policy})
    jobs_arn = sqs.get_queue_attributes(QueueUrl=jobs["QueueUrl"], AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    consumer = deploy_source(
        backend,
        names,
        "consumer",
        "def handler(event, context):\n    raise ValueError('cannot read it')\n",
        TracingConfig={"Mode": "Active"},
    )
    _mapping(backend, consumer, jobs_arn, BatchSize=1)
    trip = traced(sqs, "send_message", QueueUrl=jobs["QueueUrl"], MessageBody='{"pages": "12"}')
    wait_for_dead_letter = time.time() + 20
    while not sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0).get("Messages"):
        assert time.time() < wait_for_dead_letter, "the poison message reached the dead-letter queue"
        time.sleep(0.2)
    text = str(journey(trip)).splitlines()
    assert text[0] == f"1. notebook → SQS {prefix}-jobs: SendMessage ✓"
    deliveries = [line for line in text if "messages → invocation" in line]
    assert len(deliveries) == 2 and all(
        line.startswith(f"{line[0]}. SQS {prefix}-jobs → λ {prefix}-consumer") for line in deliveries
    )
    assert "   emulator: receive 2" in text
    assert sum("failed: ValueError cannot read it" in line for line in text) == 2
    assert text[-1].endswith(
        f"SQS {prefix}-jobs → SQS {prefix}-jobs-dlq: moved to the dead-letter queue after 2 receives (emulator)"
    )


def test_a_refused_segment_costs_the_picture_its_first_step_only(capsys):
    """On an account where the learner may not call PutTraceSegments, the call still goes on."""
    from botocore.exceptions import ClientError

    from workshop.aws.xray import TraceHeader, new_segment_id
    from workshop.lab_helpers.journey import _record

    class Refusing:
        def client(self, service):
            return self

        def put_trace_segments(self, **_):
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutTraceSegments")

    header = TraceHeader.start().under(new_segment_id())
    _record(Refusing(), "notebook", header, time.time(), {"name": "S3", "namespace": "aws", "aws": {}})
    said = capsys.readouterr().out
    assert said.count("\n") == 1 and "AccessDeniedException" in said and "not recorded" in said
