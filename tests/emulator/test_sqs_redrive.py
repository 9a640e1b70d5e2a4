"""Dead-letter queue redrive as AWS documents it: StartMessageMoveTask moves what waits in a DLQ,
in the background, each message as a new one (new id) back to the queue it came from or to a
destination; ListMessageMoveTasks follows the task; CancelMessageMoveTask stops it
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html)."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

from workshop.core.waiting import wait_for


@pytest.fixture
def queues(backend, prefix):
    """Two source queues sharing one dead-letter queue (a receive count of 1 sends a message
    there on its second receive), and a spare queue."""
    sqs, names = backend.client("sqs"), backend.names(prefix)

    def create(name, **attributes):
        url = sqs.create_queue(QueueName=names.queue(name), Attributes=attributes)["QueueUrl"]
        return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    dlq = create("redrive-dlq")
    policy = json.dumps({"deadLetterTargetArn": dlq[1], "maxReceiveCount": 1})
    return {
        "sqs": sqs,
        "dlq": dlq,
        "orders": create("redrive-orders", VisibilityTimeout="0", RedrivePolicy=policy),
        "refunds": create("redrive-refunds", VisibilityTimeout="0", RedrivePolicy=policy),
        "spare": create("redrive-spare"),
    }


def _dead_letter(sqs, source_url, dlq_url, body, **attributes):
    """Send ``body`` to a source queue and receive it until the queue moves it to the DLQ."""
    sqs.send_message(QueueUrl=source_url, MessageBody=body, MessageAttributes=attributes)
    sqs.receive_message(QueueUrl=source_url)  # the one receive its policy allows
    wait_for(
        lambda: (
            not sqs.receive_message(QueueUrl=source_url).get("Messages")
            and _bodies(sqs, dlq_url, peek=True).count(body)
        ),
        f"{body} in the DLQ",
    )


def _bodies(sqs, url, peek=False):
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0 if peek else 30, MessageAttributeNames=["All"]
    ).get("Messages", [])
    return [m["Body"] for m in messages]


def _finished(sqs, dlq_arn):
    tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    return tasks[0] if tasks and tasks[0]["Status"] not in ("RUNNING", "CANCELLING") else None


def test_a_redrive_returns_each_message_to_its_own_source_queue_as_a_new_message(queues):
    sqs, (dlq_url, dlq_arn) = queues["sqs"], queues["dlq"]
    _dead_letter(sqs, queues["orders"][0], dlq_url, "order 7", kind={"DataType": "String", "StringValue": "order"})
    _dead_letter(sqs, queues["refunds"][0], dlq_url, "refund 3")
    dead_ids = {
        m["MessageId"]
        for m in sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    }

    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    task = wait_for(lambda: _finished(sqs, dlq_arn), "the move task")

    assert handle and "TaskHandle" not in task  # AWS lists a handle only while the task runs
    assert (task["Status"], task["ApproximateNumberOfMessagesMoved"], task["ApproximateNumberOfMessagesToMove"]) == (
        "COMPLETED",
        2,
        2,
    )
    assert "DestinationArn" not in task and task["SourceArn"] == dlq_arn
    order = sqs.receive_message(QueueUrl=queues["orders"][0], MessageAttributeNames=["All"])["Messages"][0]
    assert (order["Body"], order["MessageAttributes"]["kind"]["StringValue"]) == ("order 7", "order")
    assert order["MessageId"] not in dead_ids  # "considered new messages", with a new id
    assert _bodies(sqs, queues["refunds"][0]) == ["refund 3"]
    assert _bodies(sqs, dlq_url) == []


def test_a_destination_receives_them_instead(queues):
    sqs, (dlq_url, dlq_arn), (spare_url, spare_arn) = queues["sqs"], queues["dlq"], queues["spare"]
    _dead_letter(sqs, queues["orders"][0], dlq_url, "order 8")
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=spare_arn)
    task = wait_for(lambda: _finished(sqs, dlq_arn), "the move task")
    assert task["DestinationArn"] == spare_arn
    assert _bodies(sqs, spare_url) == ["order 8"]
    assert _bodies(sqs, queues["orders"][0]) == []


def test_one_task_at_a_time_and_a_cancel_stops_what_is_left(queues):
    sqs, (dlq_url, dlq_arn) = queues["sqs"], queues["dlq"]
    for n in range(3):
        sqs.send_message(QueueUrl=dlq_url, MessageBody=f"stale {n}")  # sent to the DLQ directly
    handle = sqs.start_message_move_task(
        SourceArn=dlq_arn, DestinationArn=queues["spare"][1], MaxNumberOfMessagesPerSecond=1
    )["TaskHandle"]
    with pytest.raises(sqs.exceptions.UnsupportedOperation):
        sqs.start_message_move_task(SourceArn=dlq_arn)
    running = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert (running["Status"], running["TaskHandle"], running["MaxNumberOfMessagesPerSecond"]) == ("RUNNING", handle, 1)

    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    task = wait_for(lambda: _finished(sqs, dlq_arn), "the cancelled task")
    assert task["Status"] == "CANCELLED" and task["ApproximateNumberOfMessagesMoved"] <= moved + 1 < 3
    assert len(_bodies(sqs, dlq_url, peek=True)) == 3 - task["ApproximateNumberOfMessagesMoved"]
    with pytest.raises((sqs.exceptions.ResourceNotFoundException, sqs.exceptions.UnsupportedOperation)):
        sqs.cancel_message_move_task(TaskHandle=handle)


@pytest.mark.parametrize(
    ("source", "destination", "code"),
    [
        ("orders", None, "InvalidParameterValue"),  # not any queue's dead-letter queue
        ("missing", None, "ResourceNotFoundException"),
        ("dlq", "missing", "ResourceNotFoundException"),
    ],
)
def test_what_a_redrive_refuses(queues, source, destination, code):
    sqs, region_account = queues["sqs"], queues["dlq"][1].rsplit(":", 1)[0]
    arn = {name: queues[name][1] for name in ("orders", "dlq")} | {"missing": f"{region_account}:no-such-queue"}
    options = {"DestinationArn": arn[destination]} if destination else {}
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sqs.start_message_move_task(SourceArn=arn[source], **options)
    assert refused.value.response["Error"]["Code"] == code
    if source == "dlq":
        assert sqs.list_message_move_tasks(SourceArn=arn["dlq"])["Results"] == []  # nothing started
