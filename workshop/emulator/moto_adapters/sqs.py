"""SQS: FIFO sequence numbers and deduplication as AWS keeps them, settings read without counting
the queue, the traffic CloudWatch's SQS metrics count, and queue attributes judged whole."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from workshop.aws import refusals
from workshop.emulator.moto_adapters.atomic import raise_refusal, unchanged_on_error
from workshop.emulator.moto_adapters.server import ACCOUNT_ID, request_trace_header


def queue_backend(queue_arn: str) -> tuple[Any, str]:
    """The moto backend an SQS queue's ARN names, and the queue's name in it."""
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = queue_arn.split(":", 5)
    return sqs_backends[account][region], name


def queue_readiness(queue_arn: str) -> tuple[bool, float | None] | None:
    """Whether ReceiveMessage would return a message now, and in how many seconds time alone
    makes one deliverable (a visibility timeout or a delay ends; None when no message waits
    for that). None when there is no such queue. Lets an idle poller skip the call and sleep
    until then; moto's long poll also spins on a FIFO queue whose visible messages all wait
    behind a message of their group in flight."""
    backend, name = queue_backend(queue_arn)
    queue = backend.queues.get(name)
    if queue is None:
        return None
    now_ms = _now_ms()
    messages = list(queue._messages)
    held_groups = (
        {m.group_id for m in list(queue._pending_messages) if m.group_id and not _visible(m, now_ms)}
        if queue.fifo_queue
        else set()
    )
    deliverable = any(_deliverable(m, now_ms) and m.group_id not in held_groups for m in messages)
    waits = [max(m.visible_at, m.delayed_until) for m in messages if not _deliverable(m, now_ms)]
    return deliverable, (max(0.0, min(waits) - now_ms) / 1000 + 0.001 if waits else None)


def _now_ms() -> float:
    from moto.sqs import models as sqs_models

    return sqs_models.unix_time_millis()


def _sqs_clock_without_datetime() -> None:
    """moto's SQS reads the clock through ``datetime`` (now minus the epoch, as a timedelta) for
    every message it looks at: twice a message for each receive over a queue's backlog (the
    ``messages`` list), once a message for each count. A backlog of thousands made every
    receive slower as it grew: a 10,000-file pipeline's worker stage slowed to half its speed as
    its FIFO queue filled. The same seconds since the epoch, read from ``time.time()``."""
    from moto.core import utils
    from moto.sqs import models as sqs_models

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else utils.unix_time(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else utils.unix_time_millis(dt)

    sqs_models.unix_time = unix_time
    sqs_models.unix_time_millis = unix_time_millis


def _messages_carry_the_senders_trace_header() -> None:
    """SQS keeps a sender's ``X-Amzn-Trace-Id`` with each message of the SendMessage or
    SendMessageBatch as its AWSTraceHeader (a system attribute given explicitly wins):
    https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sqs.html"""
    from moto.sqs.models import Message

    original = Message.__init__

    def __init__(self: Any, message_id: str, body: str, system_attributes: dict[str, Any] | None = None) -> None:
        original(self, message_id, body, system_attributes)
        header = request_trace_header()
        if header and "AWSTraceHeader" not in self.system_attributes:
            self.system_attributes = {
                **self.system_attributes,
                "AWSTraceHeader": {"DataType": "String", "StringValue": header},
            }

    Message.__init__ = __init__


# moto's Message.visible and .delayed, against one reading of the clock for a whole pass:
def _visible(message: Any, now_ms: float) -> bool:
    return now_ms > message.visible_at


def _delayed(message: Any, now_ms: float) -> bool:
    return now_ms < message.delayed_until


def _deliverable(message: Any, now_ms: float) -> bool:
    return _visible(message, now_ms) and not _delayed(message, now_ms)


def _ring_on_deliverable_changes(ring: Callable[[str], None]) -> None:
    """A message sent, deleted (a FIFO group's next message is free) or made visible again rings
    its queue's bell (the pollers' :mod:`~workshop.emulator.functions.source_bells`)."""
    from moto.sqs import models as sqs_models

    queue_class, backend_class = sqs_models.Queue, sqs_models.SQSBackend
    add, delete, change = queue_class.add_message, queue_class.delete_message, backend_class.change_message_visibility

    def add_message(self: Any, message: Any) -> None:
        add(self, message)
        ring(self.queue_arn)

    def delete_message(self: Any, receipt_handle: str) -> None:
        delete(self, receipt_handle)
        ring(self.queue_arn)

    def change_message_visibility(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> None:
        change(self, queue_name, *args, **kwargs)
        queue = self.queues.get(queue_name)
        if queue is not None:
            ring(queue.queue_arn)

    queue_class.add_message = add_message
    queue_class.delete_message = delete_message
    backend_class.change_message_visibility = change_message_visibility


def _number_fifo_messages() -> None:
    """AWS gives every FIFO message a growing 20-digit SequenceNumber; moto gives a random
    one, and only to messages sent with an explicit deduplication id."""
    from moto.sqs import models as sqs_models

    original = sqs_models.Queue.add_message
    numbers = itertools.count(int(time.time() * 1000) * 10**7)
    lock = threading.Lock()

    def add_message(self: Any, message: Any) -> None:
        if self.fifo_queue:
            with lock:
                message.sequence_number = f"{next(numbers):020d}"
        original(self, message)

    sqs_models.Queue.add_message = add_message


def _tell_dead_letter_moves(on_dead_lettered: Callable[[str, str, int], None]) -> None:
    """A message SQS moves to a dead-letter queue (moto moves it inside a receive) is told with its
    AWSTraceHeader: (the dead-letter queue's name, the header, its receives). A message sent is
    new (no receive yet); one moved has been received ``maxReceiveCount`` times."""
    from moto.sqs import models as sqs_models

    original = sqs_models.Queue.add_message

    def add_message(self: Any, message: Any) -> None:
        moved = message.approximate_receive_count > 0
        original(self, message)
        header = (message.system_attributes.get("AWSTraceHeader") or {}).get("StringValue") if moved else None
        if header:
            on_dead_lettered(self.name, header, message.approximate_receive_count)

    sqs_models.Queue.add_message = add_message


def _fifo_deduplication_outlives_deletion() -> None:
    """AWS drops a FIFO message whose deduplication id was accepted in the last five minutes,
    whether or not that message is still in the queue; moto compares only with the messages
    the queue still holds, so a job received and deleted is queued again by a retried send.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html"""
    from moto.sqs import models as sqs_models

    original = sqs_models.Queue.add_message
    window_ms = sqs_models.DEDUPLICATION_TIME_IN_SECONDS * 1000
    lock = threading.Lock()

    def add_message(self: Any, message: Any) -> None:
        if self.fifo_queue and message.deduplication_id:
            with lock:
                # id -> when accepted, oldest first: ids older than the window are forgotten
                # from the front (a scan of every id at each send cost a busy queue dearly)
                accepted: dict[str, int] = self.__dict__.setdefault("_workshop_deduplication", {})
                sent = int(message.sent_timestamp)
                for oldest, at in list(itertools.islice(accepted.items(), 100)):
                    if sent - at < window_ms:
                        break
                    del accepted[oldest]
                first = accepted.get(message.deduplication_id)
                if first is not None and sent - first < window_ms:
                    return  # accepted, not delivered: AWS answers with success too
                accepted.pop(message.deduplication_id, None)  # accepted again: now the newest
                accepted[message.deduplication_id] = sent
        original(self, message)

    sqs_models.Queue.add_message = add_message


_reading_sqs_settings = threading.local()
_COUNTED_SQS_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
)


def _sqs_settings_read_without_counting() -> None:
    """moto's ``Queue.attributes`` counts the queue's messages three times (a clock read per
    message) each time it is read, and SendMessage reads it four times for one setting
    (ContentBasedDeduplication), SendMessageBatch four more times an entry, ReceiveMessage once
    per message returned (for MessageRetentionPeriod): the cost of a send or a receive grows
    with the queue's backlog.
    Inside those two calls the settings are read without the counts; the retention period
    straight from the queue."""
    from moto.sqs import models as sqs_models

    queue_class, backend_class = sqs_models.Queue, sqs_models.SQSBackend
    full_attributes = queue_class.attributes.fget
    send, send_batch = backend_class.send_message, backend_class.send_message_batch

    def attributes(self: Any) -> dict[str, Any]:
        if not getattr(_reading_sqs_settings, "active", False):
            return full_attributes(self)
        result = {}  # moto's attributes, less the counts: nothing inside SendMessage reads them
        names = (
            list(queue_class.BASE_ATTRIBUTES)
            + (list(queue_class.FIFO_ATTRIBUTES) if self.fifo_queue else [])
            + (list(queue_class.KMS_ATTRIBUTES) if self.kms_master_key_id else [])
        )
        for name in names:
            if name not in _COUNTED_SQS_ATTRIBUTES:
                result[name] = getattr(self, sqs_models.camelcase_to_underscores(name))
        if self.policy:
            result["Policy"] = self.policy
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy)
        return {k: str(v).lower() if isinstance(v, bool) else v for k, v in result.items()}

    def settings_only(call: Callable[..., Any]) -> Callable[..., Any]:
        def reading_settings(self: Any, *args: Any, **kwargs: Any) -> Any:
            outer = getattr(_reading_sqs_settings, "active", False)
            _reading_sqs_settings.active = True
            try:
                return call(self, *args, **kwargs)
            finally:
                _reading_sqs_settings.active = outer

        return reading_settings

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > sqs_models.unix_time()

    queue_class.attributes = property(attributes)
    backend_class.send_message = settings_only(send)
    # SendMessageBatch checks each entry (reading the setting again) before it sends them
    backend_class.send_message_batch = settings_only(send_batch)
    backend_class.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period


_sqs_counts: dict[tuple[str, str], dict[str, int]] = {}
_sqs_counts_lock = threading.Lock()
SQS_COUNTERS = ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted", "NumberOfEmptyReceives")


_sqs_last_action: dict[tuple[str, str], float] = {}  # (region, queue) -> time.time() of its last send/receive/delete


def _count(region: str, queue: str, counter: str, amount: int = 1) -> None:
    with _sqs_counts_lock:
        counts = _sqs_counts.setdefault((region, queue), dict.fromkeys(SQS_COUNTERS, 0))
        counts[counter] += amount
        _sqs_last_action[(region, queue)] = time.time()


def _count_sqs_traffic() -> None:
    """moto publishes no SQS metrics; count what CloudWatch's SQS counters count."""
    from moto.sqs import models as sqs_models

    backend_class = sqs_models.SQSBackend
    send, receive, delete = backend_class.send_message, backend_class.receive_message, backend_class.delete_message

    def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        message = send(self, queue_name, *args, **kwargs)
        _count(self.region_name, queue_name, "NumberOfMessagesSent")
        return message

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        messages = receive(self, queue_name, *args, **kwargs)
        if messages:
            _count(self.region_name, queue_name, "NumberOfMessagesReceived", len(messages))
        else:
            _count(self.region_name, queue_name, "NumberOfEmptyReceives")
        return messages

    def delete_message(self: Any, queue_name: str, receipt_handle: str) -> None:
        delete(self, queue_name, receipt_handle)
        _count(self.region_name, queue_name, "NumberOfMessagesDeleted")

    backend_class.send_message = send_message
    backend_class.receive_message = receive_message
    backend_class.delete_message = delete_message


def sqs_queue_metrics(active_within: float | None = None) -> list[tuple[str, str, dict[str, float]]]:
    """(region, queue name, metrics) of every active queue: gauges now, counters since the last call.

    AWS publishes a queue's metrics while it is active: up to six hours after its last
    action. With ``active_within`` (seconds), an empty queue created, sent to, received from
    and deleted from longer ago than that is skipped, as AWS skips it; a class's leftover
    queues publishing every minute would make most of an idle emulator's work."""
    from moto.sqs.models import sqs_backends

    now = time.time()
    now_ms = now * 1000
    results = []
    for region, backend in sqs_backends[ACCOUNT_ID].items():
        for name, queue in list(backend.queues.items()):
            messages = list(queue._messages)
            last_action = max(queue.created_timestamp, _sqs_last_action.get((region, name), 0.0))
            if active_within is not None and not messages and now - last_action > active_within:
                continue
            sent = [m.sent_timestamp for m in messages if m.sent_timestamp]
            clock = _now_ms()
            metrics: dict[str, float] = {  # moto's three counts, with one reading of the clock
                "ApproximateNumberOfMessagesVisible": sum(_deliverable(m, clock) for m in messages),
                "ApproximateNumberOfMessagesNotVisible": sum(not _visible(m, clock) for m in messages),
                "ApproximateNumberOfMessagesDelayed": sum(_delayed(m, clock) for m in messages),
                "ApproximateAgeOfOldestMessage": max(0.0, (now_ms - min(sent)) / 1000) if sent else 0.0,
            }
            with _sqs_counts_lock:
                counts = _sqs_counts.pop((region, name), dict.fromkeys(SQS_COUNTERS, 0))
            metrics.update(counts)
            results.append((region, name, metrics))
    return results


def _sqs_queues_judged_whole() -> None:
    """SetQueueAttributes and CreateQueue are judged on every attribute before moto stores any
    (moto stores a RedrivePolicy, then refuses it; it accepts out-of-range values)."""
    from moto.sqs import models as sqs_models
    from moto.sqs.exceptions import SQSException

    backend_class = sqs_models.SQSBackend
    original_set, original_create = backend_class.set_queue_attributes, backend_class.create_queue

    def queue_type(backend: Any) -> Callable[[str], bool | None]:
        def is_fifo(arn: str) -> bool | None:
            queue = next((q for q in list(backend.queues.values()) if q.queue_arn == arn), None)
            return None if queue is None else bool(queue.fifo_queue)

        return is_fifo

    def set_queue_attributes(self: Any, queue_name: str, attributes: dict[str, Any]) -> Any:
        queue = self.get_queue(queue_name)
        raise_refusal(
            refusals.sqs_attributes(
                attributes, fifo=bool(queue.fifo_queue), creating=False, dead_letter_queue_fifo=queue_type(self)
            ),
            SQSException,
        )
        with unchanged_on_error(queue):
            return original_set(self, queue_name, attributes)

    def create_queue(self: Any, name: str, tags: dict[str, str] | None = None, **kwargs: Any) -> Any:
        attributes = {k: v for k, v in kwargs.items() if k != "region"}
        fifo = str(attributes.get("FifoQueue", "false")).lower() == "true"
        raise_refusal(
            refusals.sqs_attributes(attributes, fifo=fifo, creating=True, dead_letter_queue_fifo=queue_type(self)),
            SQSException,
        )
        return original_create(self, name, tags, **kwargs)

    backend_class.set_queue_attributes = set_queue_attributes
    backend_class.create_queue = create_queue
