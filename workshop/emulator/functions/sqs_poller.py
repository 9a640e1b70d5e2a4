"""An SQS event-source mapping: receive, filter, invoke, delete or leave for redrive, as Lambda does."""

from __future__ import annotations

import threading
import time
from typing import Any

from workshop.aws import events as aws_events
from workshop.aws.batch_response import failed_items
from workshop.emulator.functions.poller_base import Poller, SourceGone, chunks
from workshop.emulator.moto_adapters import event_source_mappings as moto_mappings
from workshop.emulator.moto_adapters import sqs as moto_sqs
from workshop.emulator.moto_adapters import sqs_receive as moto_sqs_receive
from workshop.emulator.ports import PollerService
from workshop.emulator.tracing import DUPLICATE_DELIVERY

__all__ = ["SqsPoller"]


class SqsPoller(Poller):
    """Receive up to BatchSize messages (within the batching window), invoke, delete what succeeded.

    Like AWS's pollers it keeps several batches in flight at once, up to the function's
    concurrency (the emulator's per-function limit, or the mapping's
    ScalingConfig.MaximumConcurrency when lower). A FIFO queue keeps its order by itself: it
    hands out no message of a group while an earlier one of that group is in flight."""

    source = "sqs"

    def __init__(self, service: PollerService, region: str, uuid: str) -> None:
        self._slots = threading.Condition()
        self._in_flight = 0
        # messages handed back as a chaos duplicate: the copy that comes back is not doubled
        # again, or a duplicate_rate of 1.0 would deliver a message for ever
        self._doubled: set[str] = set()
        self._wakes_in: float | None = None  # when time alone makes a message deliverable
        super().__init__(service, region, uuid)

    @property
    def busy(self) -> bool:
        return self._polling or self._in_flight > 0

    @busy.setter
    def busy(self, value: bool) -> None:
        self._polling = value

    def _concurrency(self, mapping: dict[str, Any]) -> int:
        limit = self._service.settings.lambda_concurrency
        maximum = (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency")
        return max(1, min(limit, int(maximum)) if maximum else limit)

    def has_work(self, source_arn: str) -> bool:
        readiness = moto_sqs.queue_readiness(source_arn)
        if readiness is None:
            return True  # the queue is gone: the poll reports it
        moto_mappings.mark_mapping_ready(self.region, self.uuid)
        deliverable, self._wakes_in = readiness
        return deliverable

    def idle_timeout(self) -> float:
        return float("inf") if self._wakes_in is None else self._wakes_in

    def poll_once(self, mapping: dict[str, Any]) -> bool:
        queue_arn = mapping["EventSourceArn"]
        batch_size = int(mapping.get("BatchSize") or 10)
        window = self._service.settings.scaled(float(mapping.get("MaximumBatchingWindowInSeconds") or 0))
        messages: list[dict[str, Any]] = []
        deadline = None
        while len(messages) < batch_size and not self._stopped.is_set():
            # received in process (no HTTP request to the emulator itself); no long poll: has_work
            # has just seen a message
            received = moto_sqs_receive.receive(queue_arn, min(10, batch_size - len(messages)))
            if received is None:  # messages received before the queue went stay in flight
                raise SourceGone(f"the queue {queue_arn} does not exist")
            if not received and not messages:
                return False
            messages += received
            self.busy = True
            deadline = deadline or time.monotonic() + window
            if not received or time.monotonic() >= deadline:
                break
            if len(messages) < batch_size:
                time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
        with self._slots:
            self._in_flight += 1
        threading.Thread(
            target=self._process_in_slot,
            args=(mapping, messages),
            daemon=True,
            name=f"sqs-batch-{self.uuid[:8]}",
        ).start()
        with self._slots:  # the next batch once a slot is free
            while self._in_flight >= self._concurrency(mapping) and not self._stopped.is_set():
                self._slots.wait(0.5)
        return True

    def _process_in_slot(self, mapping: dict[str, Any], messages: list[dict[str, Any]]) -> None:
        try:
            self._process(mapping, messages)
        except Exception as error:  # the messages stay in flight and come back after their timeout
            print(f"sqs mapping {self.uuid} failed on a batch: {error!r}", flush=True)
        finally:
            with self._slots:
                self._in_flight -= 1
                self._slots.notify_all()

    def _process(self, mapping: dict[str, Any], messages: list[dict[str, Any]]) -> None:
        records = [
            aws_events.sqs_lambda_record(m, queue_arn=mapping["EventSourceArn"], region=self.region) for m in messages
        ]
        passing = self.passing(mapping, records)
        passing_ids = {r["messageId"] for r in passing}
        done = [m for m in messages if m["MessageId"] not in passing_ids]  # AWS deletes filtered-out messages
        if passing:
            result = self.invoke(mapping, passing, *self._tracing(passing))
            if not result.function_error:
                failed: set[str] | None = set()
                if "ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []):
                    failed = failed_items(result.payload, passing_ids)
                if failed is not None:
                    done += [m for m in messages if m["MessageId"] in passing_ids - failed]
            # Failed messages stay in flight until the queue's visibility timeout; the queue's
            # redrive policy moves them to its dead-letter queue after maxReceiveCount.
        self._finish(mapping["EventSourceArn"], done, passing_ids)

    def _tracing(self, records: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
        """The emulator's notes on a batch's delivery, and its messages' trace headers."""
        with self._slots:
            doubled = any(r["messageId"] in self._doubled for r in records)
        receives = max(int(r["attributes"].get("ApproximateReceiveCount", 1)) for r in records)
        delivery = DUPLICATE_DELIVERY if doubled else f"receive {receives}" if receives > 1 else None
        headers = [r["attributes"]["AWSTraceHeader"] for r in records if r["attributes"].get("AWSTraceHeader")]
        return {"emulator_delivery": delivery}, headers

    def _finish(self, queue_arn: str, done: list[dict[str, Any]], passing_ids: set[str]) -> None:
        chaos = self._service.chaos.for_resource(queue_arn.rsplit(":", 1)[-1])  # the queue's owner's switches
        deletions, redeliveries = [], []
        with self._slots:
            for message in done:
                message_id = message["MessageId"]
                if message_id in self._doubled:
                    self._doubled.discard(message_id)
                    duplicate = False
                else:
                    duplicate = message_id in passing_ids and chaos.duplicate()
                    if duplicate:
                        self._doubled.add(message_id)
                (redeliveries if duplicate else deletions).append(message)
        for chunk in chunks(deletions, 10):
            moto_sqs_receive.delete(queue_arn, [m["ReceiptHandle"] for m in chunk])
        for message in redeliveries:  # an at-least-once duplicate: the message comes back
            moto_sqs_receive.make_visible(queue_arn, message["ReceiptHandle"])
