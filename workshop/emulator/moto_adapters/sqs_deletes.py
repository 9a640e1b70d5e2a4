"""SQS deletes: one at a time under the queue's lock, and each finding its message by its receipt
handle instead of reading every message of the queue."""

from __future__ import annotations

import weakref
from typing import Any


def install() -> None:
    """moto's ``Queue.delete_message`` rebuilds the queue's message list and puts the new list in
    place without the lock ``add_message`` takes. Two deletes at once (two batches of one queue
    finishing together) each rebuilt from the same old list; a message sent meanwhile went into
    the list the first put in place, and the second, putting its own in place, dropped it: the
    send had answered success and the message was gone. A 10,000-file pipeline lost 660 of its
    29,919 jobs this way, more as its FIFO queue's backlog (and so each rebuild) grew. Deletes
    run under the queue's lock: one at a time, and never while a message is added.

    moto also finds the message by building the list of every receipt handle of every message
    in the queue, twice per delete: a DeleteMessageBatch cost grew with the backlog (a 10,000-file
    pipeline's FIFO queue holds thousands). Each handle a receive hands out is kept beside its
    message here, so a delete finds it at once; a handle not known here (one handed out before a
    restart) takes moto's way, with its answer for a handle that is not the queue's."""
    from moto.sqs import models as sqs_models

    delete, mark_received = sqs_models.Queue.delete_message, sqs_models.Message.mark_received
    by_handle: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()

    def received(self: Any, *args: Any, **kwargs: Any) -> None:
        mark_received(self, *args, **kwargs)
        by_handle[self.receipt_handle] = self

    def delete_message(self: Any, receipt_handle: str) -> None:
        with self._messages_lock:
            if receipt_handle in self.deleted_messages:
                return  # deleted before: AWS answers success again
            message = by_handle.get(receipt_handle)
            if message is None or message not in self._messages:  # identity: messages define no equality
                delete(self, receipt_handle)
                return
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
            self._messages = [kept for kept in self._messages if kept is not message]

    sqs_models.Message.mark_received = received
    sqs_models.Queue.delete_message = delete_message
