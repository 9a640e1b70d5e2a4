"""A DynamoDB stream event-source mapping: read each shard in order, filter, invoke, retry or bisect."""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

from workshop.aws import events as aws_events
from workshop.aws.batch_response import failed_items
from workshop.aws.xray import TraceHeader
from workshop.emulator.functions.poller_base import Batch, Poller, SourceGone
from workshop.emulator.moto_adapters import dynamodb as moto_dynamodb
from workshop.emulator.moto_adapters import event_source_mappings as moto_mappings
from workshop.emulator.ports import PollerService
from workshop.emulator.tracing import DUPLICATE_DELIVERY

__all__ = ["StreamPoller"]


class StreamPoller(Poller):
    """Read each shard in order, invoke per batch, retry a failed batch before moving on."""

    source = "dynamodb"

    def __init__(self, service: PollerService, region: str, uuid: str) -> None:
        self._positions: dict[str, int] = {}  # shard id -> the sequence number to read next
        self._pending: dict[str, deque[Batch]] = {}
        self._length_read: int | None = None  # the stream's length when a read last came back empty
        super().__init__(service, region, uuid)

    def has_work(self, source_arn: str) -> bool:
        if not self._positions or any(self._pending.values()):
            return True
        length = moto_dynamodb.stream_length(source_arn)
        return length is None or length != self._length_read

    def bell_of(self, source_arn: str) -> str:
        return moto_dynamodb.stream_table_arn(source_arn)

    def poll_once(self, mapping: dict[str, Any]) -> bool:
        stream_arn = mapping["EventSourceArn"]
        length = moto_dynamodb.stream_length(stream_arn)  # has_work compares it with the next one
        if length is None and not any(self._pending.values()):  # batches read before it went still run
            raise SourceGone(f"the stream {stream_arn} does not exist")
        if not self._positions:
            self._open_shards(stream_arn, mapping.get("StartingPosition") or "TRIM_HORIZON")
            moto_mappings.mark_mapping_ready(self.region, self.uuid)
        self._length_read = None
        worked = False
        for shard_id in list(self._positions):
            pending = self._pending.setdefault(shard_id, deque())
            if not pending:
                records = moto_dynamodb.stream_records(
                    stream_arn, shard_id, self._positions[shard_id], int(mapping.get("BatchSize") or 100)
                )
                if records:
                    self._positions[shard_id] = int(records[-1]["dynamodb"]["SequenceNumber"]) + 1
                    pending.append(Batch(shard_id, records))
                else:
                    self._length_read = length
            if pending:
                self.busy = worked = True
                self._process(mapping, pending)
        return worked

    def _open_shards(self, stream_arn: str, position: str) -> None:
        for shard_id, (first, latest) in moto_dynamodb.stream_shards(stream_arn).items():
            checkpoint = moto_mappings.stream_checkpoint(self.region, self.uuid, shard_id)
            if checkpoint:  # a restarted emulator: on from the last record finished with
                self._positions[shard_id] = int(checkpoint) + 1
            else:
                self._positions[shard_id] = latest if position == "LATEST" else first

    def _done_with(self, pending: deque[Batch]) -> None:
        batch = pending.popleft()
        moto_mappings.set_stream_checkpoint(
            self.region, self.uuid, batch.shard_id, batch.raw[-1]["dynamodb"]["SequenceNumber"]
        )

    def _process(self, mapping: dict[str, Any], pending: deque[Batch]) -> None:
        batch = pending[0]
        records = [aws_events.dynamodb_lambda_record(r, stream_arn=mapping["EventSourceArn"]) for r in batch.raw]
        passing = self.passing(mapping, records)
        if not batch.doubled and not batch.attempts:  # once a record, not at each retry
            self._trace_filtered(mapping, [r for r in records if r not in passing])
        if not passing:
            self._done_with(pending)
            return
        writers = (TraceHeader.parse(moto_dynamodb.writer_trace(r["dynamodb"]["SequenceNumber"])) for r in passing)
        notes = {
            "emulator_caused_by": next((w.root for w in writers if w), None),  # AWS passes no context through a stream
            "emulator_source": _table_of(mapping["EventSourceArn"]),
            "emulator_delivery": DUPLICATE_DELIVERY if batch.doubled else None,
        }
        result = self.invoke(mapping, passing, notes)
        if not result.function_error:
            failed: set[str] | None = set()
            if "ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []):
                failed = failed_items(result.payload, {r["dynamodb"]["SequenceNumber"] for r in passing})
            if failed == set():
                table = _table_of(mapping["EventSourceArn"])
                if not batch.doubled and self._service.chaos.for_resource(table).duplicate():
                    batch.doubled = True  # at least once: the same batch is handed over again, once
                    return
                self._done_with(pending)
                return
            if failed:  # retry from the lowest failed sequence number, in order
                lowest = min(failed, key=int)
                batch.raw = [r for r in batch.raw if int(r["dynamodb"]["SequenceNumber"]) >= int(lowest)]
        self._retry_or_give_up(mapping, pending, batch, result)

    def _trace_filtered(self, mapping: dict[str, Any], dropped: list[dict[str, Any]]) -> None:
        """Records the mapping's filter dropped, in the traces of the writes that made them."""
        for record in dropped:
            writer = moto_dynamodb.writer_trace(record["dynamodb"]["SequenceNumber"])
            if writer:
                self._service.tracing.filtered(
                    mapping["FunctionArn"], writer, record["eventName"], _table_of(mapping["EventSourceArn"])
                )

    def _retry_or_give_up(self, mapping: dict[str, Any], pending: deque[Batch], batch: Batch, result: Any) -> None:
        if result.function_error and mapping.get("BisectBatchOnFunctionError") and len(batch.raw) > 1:
            half = len(batch.raw) // 2
            pending.popleft()
            pending.appendleft(Batch(batch.shard_id, batch.raw[half:], batch.attempts))
            pending.appendleft(Batch(batch.shard_id, batch.raw[:half], batch.attempts))
            return
        batch.attempts += 1
        max_retries = int(
            mapping.get("MaximumRetryAttempts", -1) if mapping.get("MaximumRetryAttempts") is not None else -1
        )
        max_age = float(mapping.get("MaximumRecordAgeInSeconds") or -1)
        too_old = max_age > 0 and time.time() - batch.oldest_arrival() > self._service.settings.scaled(max_age)
        if too_old or (max_retries >= 0 and batch.attempts > max_retries):
            self._done_with(pending)
            self._send_to_on_failure(
                mapping, batch, "RecordAgeExceeded" if too_old else "RetryAttemptsExhausted", result
            )
            return
        backoff = min(2 ** (batch.attempts - 1), 60)  # AWS backs off between retries of a shard's batch
        self._stopped.wait(self._service.settings.scaled(backoff))

    def _send_to_on_failure(self, mapping: dict[str, Any], batch: Batch, condition: str, result: Any) -> None:
        target = ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if not target:
            return  # AWS discards the batch and moves on
        spec = self._service.resolve(self.region, mapping["FunctionArn"])
        record = aws_events.stream_failure_record(
            condition=condition,
            function_arn=spec.arn,
            approximate_invoke_count=batch.attempts,
            shard_id=batch.shard_id,
            stream_arn=mapping["EventSourceArn"],
            records=batch.raw,
            function_error="Unhandled" if result.function_error else None,
        )
        self._service.send_to_target(target, json.dumps(record), {})


def _table_of(stream_arn: str) -> str:
    """The table a stream belongs to: ``arn:...:table/<name>/stream/<label>``."""
    return stream_arn.split("/")[1]
