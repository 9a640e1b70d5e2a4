"""SQS for the emulator's own pollers: receive, delete and hand back messages in process. Through
HTTP requests to the emulator itself each batch cost a receive and a delete, served and made with
boto3's work on both sides of each: a tenth of the emulator's time in the ingest pipeline. The
same moto backend calls the API's handlers make, so the queue's metrics, its redrive to a
dead-letter queue and its pollers' bells behave as they did."""

from __future__ import annotations

from typing import Any

from workshop.emulator.moto_adapters.sqs import queue_backend


def receive(queue_arn: str, count: int) -> list[dict[str, Any]] | None:
    """Up to ``count`` messages (at most 10), received with the queue's visibility timeout, as
    boto3 hands over a ReceiveMessage asking for every attribute; None when the queue is gone."""
    backend, name = queue_backend(queue_arn)
    queue = backend.queues.get(name)
    if queue is None:
        return None
    messages = backend.receive_message(name, count, 0, queue.visibility_timeout, ["All"])
    return [_as_received(message) for message in messages]


def _as_received(message: Any) -> dict[str, Any]:
    received: dict[str, Any] = {
        "MessageId": message.id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": message.body_md5,
        "Body": message.body,
    }
    if message.message_attributes:
        received["MessageAttributes"] = {name: dict(value) for name, value in message.message_attributes.items()}
        received["MD5OfMessageAttributes"] = message.attribute_md5
    trace = (message.system_attributes or {}).get("AWSTraceHeader") or {}
    # the system attributes ReceiveMessage returns for "All", in moto's handler's order (moto 5.2.5)
    attributes = {
        "SenderId": message.sender_id,
        "SentTimestamp": str(message.sent_timestamp),
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        "MessageDeduplicationId": message.deduplication_id,
        "MessageGroupId": message.group_id,
        "AWSTraceHeader": trace.get("StringValue"),
        "SequenceNumber": message.sequence_number,
    }
    received["Attributes"] = {name: value for name, value in attributes.items() if value is not None}
    return received


def delete(queue_arn: str, receipt_handles: list[str]) -> None:
    """Delete received messages, as DeleteMessageBatch does (a handle already deleted is fine)."""
    backend, name = queue_backend(queue_arn)
    if name in backend.queues:
        backend.delete_message_batch(name, [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(receipt_handles)])


def make_visible(queue_arn: str, receipt_handle: str) -> None:
    """A received message back in the queue at once (ChangeMessageVisibility to 0)."""
    backend, name = queue_backend(queue_arn)
    if name in backend.queues:
        backend.change_message_visibility(name, receipt_handle, 0)
