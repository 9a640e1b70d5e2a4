"""SQS FIFO receives as AWS documents them, as notebook 06 shows them.

AWS: "Attempts to return as many messages with the same message group ID as possible in a single
call", "You can receive multiple messages from the same message group ID at once (up to 10 using
the MaxNumberOfMessages parameter)", but not more of that group "in subsequent requests" until
those are deleted or visible again; messages keep their FIFO order within the group
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def fifo(backend, prefix):
    sqs = backend.client("sqs")
    url = sqs.create_queue(
        QueueName=backend.names(prefix).queue("fifo-receive", fifo=True), Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    return sqs, url


def _send(sqs, url, group, *bodies):
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageGroupId=group, MessageBody=body, MessageDeduplicationId=body)


def _receive(sqs, url):
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, AttributeNames=["MessageGroupId"]
    ).get("Messages", [])
    return messages, [m["Body"] for m in messages]


def test_one_receive_hands_several_messages_of_a_group_in_order(fifo):
    sqs, url = fifo
    _send(sqs, url, "ana", "ana 1", "ana 2", "ana 3")
    messages, bodies = _receive(sqs, url)
    assert bodies == ["ana 1", "ana 2", "ana 3"]
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {"ana"}


def test_a_group_in_flight_is_held_from_every_other_receive(fifo):
    sqs, url = fifo
    _send(sqs, url, "ana", "ana 1", "ana 2", "ana 3")
    first, bodies = _receive(sqs, url)
    assert bodies == ["ana 1", "ana 2", "ana 3"]
    _send(sqs, url, "ana", "ana 4")
    _send(sqs, url, "bo", "bo 1", "bo 2")
    _, other = _receive(sqs, url)  # another consumer, while ana's three are in flight
    assert other == ["bo 1", "bo 2"], "ana 4 must wait behind ana's messages in flight; bo goes on"
    _, nothing = _receive(sqs, url)
    assert nothing == []
    for message in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    _, after = _receive(sqs, url)
    assert after == ["ana 4"], "once ana's messages are deleted, its next one is delivered"


def test_a_group_comes_back_in_order_when_its_messages_are_visible_again(fifo):
    sqs, url = fifo
    _send(sqs, url, "ana", "ana 1", "ana 2")
    first, _ = _receive(sqs, url)
    for message in first:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    _, again = _receive(sqs, url)
    assert again == ["ana 1", "ana 2"]


def test_several_groups_in_one_receive_each_keep_their_order(fifo):
    sqs, url = fifo
    for body in ("ana 1", "bo 1", "ana 2", "bo 2", "ana 3"):
        _send(sqs, url, body.split()[0], body)
    _, bodies = _receive(sqs, url)
    assert sorted(bodies) == ["ana 1", "ana 2", "ana 3", "bo 1", "bo 2"]
    for group in ("ana", "bo"):
        of_group = [b for b in bodies if b.startswith(group)]
        assert of_group == sorted(of_group)
