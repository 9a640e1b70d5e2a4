"""SQS's dead-letter queue redrive, which moto lacks: StartMessageMoveTask, ListMessageMoveTasks
and CancelMessageMoveTask, as AWS documents them.

A task moves the messages waiting in a dead-letter queue when it starts, oldest first, each as a
new message (a new id, a new retention period) to the queue it came from or to ``DestinationArn``,
in the background: the call answers with the task RUNNING, as AWS's does, and the caller follows
it with ListMessageMoveTasks. The queue a message came from is remembered when it is first sent.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
MAX_MESSAGES_PER_SECOND = 500
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasks.html
MAX_LISTED = 10
ORIGIN = "workshop_origin_arn"  # the attribute on moto's message: the queue it was first sent to


@dataclass
class MoveTask:
    handle: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    to_move: int
    started_ms: int
    status: str = "RUNNING"
    moved: int = 0
    failure: str | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)

    def entry(self) -> dict[str, Any]:
        """A ListMessageMoveTasks result; the handle only while the task runs, as AWS gives it."""
        entry: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.status == "RUNNING":
            entry["TaskHandle"] = self.handle
        if self.destination_arn:
            entry["DestinationArn"] = self.destination_arn
        if self.rate:
            entry["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure:
            entry["FailureReason"] = self.failure
        return entry


_tasks: dict[str, list[MoveTask]] = {}  # source queue ARN -> its tasks, oldest first
_by_handle: dict[str, MoveTask] = {}
_lock = threading.Lock()


def _install() -> None:
    """Give SQS's responses the three actions, and remember each message's first queue."""
    from moto.sqs import models as sqs_models
    from moto.sqs.responses import SQSResponse

    add = sqs_models.Queue.add_message

    def add_message(self: Any, message: Any) -> None:
        if getattr(message, ORIGIN, None) is None:
            setattr(message, ORIGIN, self.queue_arn)  # a move to a dead-letter queue keeps it
        add(self, message)

    sqs_models.Queue.add_message = add_message
    SQSResponse.start_message_move_task = _start
    SQSResponse.list_message_move_tasks = _list
    SQSResponse.cancel_message_move_task = _cancel


def _start(response: Any) -> Any:
    from moto.core.responses import ActionResult

    backend = response.sqs_backend
    source = _queue(backend, response._get_param("SourceArn"), "SourceArn")
    if not backend.list_dead_letter_source_queues(source.name):
        raise _error("InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.")
    destination_arn = response._get_param("DestinationArn")
    if destination_arn:
        destination = _queue(backend, destination_arn, "DestinationArn")
        if destination.fifo_queue != source.fifo_queue:
            raise _error("InvalidParameterValue", "The source and destination queues must be of the same type.")
    rate = response._get_param("MaxNumberOfMessagesPerSecond")
    if rate is not None and not 1 <= int(rate) <= MAX_MESSAGES_PER_SECOND:
        raise _error(
            "InvalidParameterValue",
            f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. "
            f"Reason: it must be between 1 and {MAX_MESSAGES_PER_SECOND}.",
        )
    waiting = [m for m in list(source._messages) if m.visible and not m.delayed]
    with _lock:
        if any(task.status in ("RUNNING", "CANCELLING") for task in _tasks.get(source.queue_arn, [])):
            raise _error(
                "UnsupportedOperation",
                "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
            )
        task = MoveTask(
            handle=secrets.token_urlsafe(24),
            source_arn=source.queue_arn,
            destination_arn=destination_arn or None,
            rate=int(rate) if rate is not None else None,
            to_move=len(waiting),
            started_ms=int(time.time() * 1000),
        )
        _tasks.setdefault(source.queue_arn, []).append(task)
        del _tasks[source.queue_arn][:-MAX_LISTED]
        _by_handle[task.handle] = task
    threading.Thread(
        target=_run, args=(backend, source, waiting, task), daemon=True, name=f"sqs-redrive-{source.name}"
    ).start()
    return ActionResult({"TaskHandle": task.handle})


def _list(response: Any) -> Any:
    from moto.core.responses import ActionResult

    source = _queue(response.sqs_backend, response._get_param("SourceArn"), "SourceArn")
    limit = int(response._get_param("MaxResults") or 1)
    if not 1 <= limit <= MAX_LISTED:
        raise _error(
            "InvalidParameterValue",
            f"Value {limit} for parameter MaxResults is invalid. Reason: it must be between 1 and {MAX_LISTED}.",
        )
    with _lock:
        newest_first = list(reversed(_tasks.get(source.queue_arn, [])))[:limit]
        return ActionResult({"Results": [task.entry() for task in newest_first]})


def _cancel(response: Any) -> Any:
    from moto.core.responses import ActionResult

    with _lock:
        task = _by_handle.get(response._get_param("TaskHandle") or "")
        if task is None:
            raise _error("ResourceNotFoundException", "Task does not exist.")
        if task.status != "RUNNING":
            raise _error("UnsupportedOperation", f"Only a RUNNING task can be cancelled; this one is {task.status}.")
        task.status = "CANCELLING"
        task.cancelled.set()
        return ActionResult({"ApproximateNumberOfMessagesMoved": task.moved})


def _run(backend: Any, source: Any, waiting: list[Any], task: MoveTask) -> None:
    """Move each message that waited at the start and still waits, then end the task."""
    try:
        for message in waiting:
            if task.cancelled.is_set():
                break
            # Under the queue's lock, as sends and deletes take it: the list changes only here meanwhile.
            with source._messages_lock:
                if message not in source._messages or not message.visible:
                    continue  # deleted, or received and in flight, since the task started
                destination = _destination(backend, source, message, task)
                backend.send_message(
                    destination.name,
                    message.body,
                    message_attributes=message.message_attributes or None,
                    deduplication_id=message.id if destination.fifo_queue else None,  # new, never a duplicate
                    group_id=message.group_id,
                )
                source._messages.remove(message)
            task.moved += 1
            if task.rate:
                task.cancelled.wait(1 / task.rate)
    except Exception as error:  # the task fails as AWS's would, with a reason to read
        with _lock:
            task.status, task.failure = "FAILED", f"{type(error).__name__}: {error}"
            _by_handle.pop(task.handle, None)
        return
    with _lock:
        task.status = "CANCELLED" if task.cancelled.is_set() else "COMPLETED"
        _by_handle.pop(task.handle, None)


def _destination(backend: Any, source: Any, message: Any, task: MoveTask) -> Any:
    if task.destination_arn:
        return _queue(backend, task.destination_arn, "DestinationArn")
    origin = getattr(message, ORIGIN, None)
    if origin and origin != source.queue_arn:
        return _queue(backend, origin, "the message's source queue")
    sources = backend.list_dead_letter_source_queues(source.name)
    if len(sources) == 1:  # sent to the dead-letter queue itself: its one source queue
        return sources[0]
    raise LookupError(f"message {message.id} was sent to the dead-letter queue directly: give a DestinationArn")


def _queue(backend: Any, arn: Any, parameter: str) -> Any:
    queue = backend.queues.get(str(arn or "").rsplit(":", 1)[-1])
    if queue is None or queue.queue_arn != arn:
        raise _error(
            "ResourceNotFoundException", f"The resource that you specified for the {parameter} parameter doesn't exist."
        )
    return queue


def _error(code: str, message: str) -> Exception:
    from moto.sqs.exceptions import SQSException

    return SQSException(code, message)
