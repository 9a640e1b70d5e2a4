"""Event-source mappings, run the way the Lambda service runs them: pollers on public APIs.

A supervisor starts one poller per mapping and stops it when the mapping goes. Each
poller re-reads its mapping every cycle, so UpdateEventSourceMapping (Enabled, BatchSize,
FilterCriteria, ...) takes effect at once. Pollers read with ReceiveMessage and GetRecords
like any other client, so a learner's own GetRecords still sees every stream record.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from workshop.aws import events as aws_events, filter_patterns
from workshop.emulator.moto_adapters import dynamodb as moto_dynamodb
from workshop.emulator.moto_adapters import event_source_mappings as moto_mappings
from workshop.emulator.moto_adapters import sqs as moto_sqs
from workshop.aws.batch_response import failed_items
from workshop.emulator.ports import PollerService

SUPERVISOR_INTERVAL_SECONDS = 0.1
IDLE_SLEEP_SECONDS = 0.05


class MappingSupervisor:
    def __init__(self, service: PollerService) -> None:
        self._service = service
        self._pollers: dict[str, _Poller] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="mapping-supervisor")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SUPERVISOR_INTERVAL_SECONDS):
            try:
                self.reconcile()
            except Exception as error:  # the supervisor outlives any one bad mapping
                print(f"event-source mapping supervisor: {error!r}", flush=True)

    def reconcile(self) -> None:
        current = moto_mappings.event_source_mapping_sources()
        for uuid, (region, source_arn) in current.items():
            if uuid not in self._pollers:
                poller_class = {"sqs": SqsPoller, "dynamodb": StreamPoller}.get(source_arn.split(":")[2])
                if poller_class:
                    self._pollers[uuid] = poller_class(self._service, region, uuid)
        for uuid in set(self._pollers) - set(current):
            self._pollers.pop(uuid).stop()

    def busy(self) -> bool:
        return any(p.busy for p in list(self._pollers.values()))

    def stats(self) -> dict[str, dict[str, int]]:
        return {uuid: {"records": p.records, "batches": p.batches} for uuid, p in list(self._pollers.items())}

    def stop(self) -> None:
        self._stop.set()
        for poller in self._pollers.values():
            poller.stop()


class _Poller:
    source = ""

    def __init__(self, service: PollerService, region: str, uuid: str) -> None:
        self._service, self.region, self.uuid = service, region, uuid
        self._stopped = threading.Event()
        self.busy = False
        self.records = self.batches = 0
        self._patterns_key: str | None = None
        self._patterns: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"{self.source}-poller-{uuid[:8]}")
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            switch = moto_mappings.event_source_mapping_switch(self.region, self.uuid)
            if switch is None:
                return
            enabled, source_arn = switch
            if not enabled:
                self._stopped.wait(SUPERVISOR_INTERVAL_SECONDS)
                continue
            # A class leaves dozens of idle mappings behind: looking for work in process costs
            # next to nothing; an API call and the mapping's configuration, twenty times a
            # second each, took a good part of a core.
            if not self.has_work(source_arn):
                self._stopped.wait(IDLE_SLEEP_SECONDS)
                continue
            mapping = moto_mappings.event_source_mapping(self.region, self.uuid)
            if mapping is None:
                return
            try:
                worked = self.poll_once(mapping)
            except ClientError as error:  # the source was deleted or is not ready yet
                print(f"{self.source} mapping {self.uuid}: {error}", flush=True)
                worked = False
                self._stopped.wait(1.0)
            except Exception as error:
                print(f"{self.source} mapping {self.uuid} failed: {error!r}", flush=True)
                worked = False
                self._stopped.wait(1.0)
            finally:
                self.busy = False
            if not worked:
                self._stopped.wait(IDLE_SLEEP_SECONDS)

    def has_work(self, source_arn: str) -> bool:
        """Whether a poll could find records now; True when unsure (the poll then says why not)."""
        raise NotImplementedError

    def poll_once(self, mapping: dict[str, Any]) -> bool:
        raise NotImplementedError

    def passing(self, mapping: dict[str, Any], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records the mapping's FilterCriteria let through."""
        criteria = mapping.get("FilterCriteria") or {}
        key = json.dumps(criteria, sort_keys=True)
        if key != self._patterns_key:
            self._patterns = filter_patterns.parse_filter_criteria(criteria) if criteria.get("Filters") else []
            self._patterns_key = key
        return [r for r in records if filter_patterns.record_passes(self._patterns, self.source, r)]

    def invoke(self, mapping: dict[str, Any], records: list[dict[str, Any]]) -> Any:
        self.records += len(records)
        self.batches += 1
        spec = self._service.resolve(self.region, mapping["FunctionArn"])
        return self._service.invoke(spec, json.dumps({"Records": records}).encode(),
                                    retried_by="sqs" if self.source == "sqs" else "stream")

    def clients(self) -> Any:
        return self._service.backend(self.region)


class SqsPoller(_Poller):
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
        deliverable = moto_sqs.queue_has_deliverable_messages(source_arn)
        if deliverable is None:
            return True  # the queue is gone: the poll reports it
        moto_mappings.mark_mapping_ready(self.region, self.uuid)
        return deliverable

    def poll_once(self, mapping: dict[str, Any]) -> bool:
        sqs = self.clients().client("sqs")
        queue_arn = mapping["EventSourceArn"]
        account, name = queue_arn.split(":")[4], queue_arn.split(":")[5]
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        moto_mappings.mark_mapping_ready(self.region, self.uuid)
        batch_size = int(mapping.get("BatchSize") or 10)
        window = self._service.settings.scaled(float(mapping.get("MaximumBatchingWindowInSeconds") or 0))
        messages: list[dict[str, Any]] = []
        deadline = None
        while len(messages) < batch_size and not self._stopped.is_set():
            received = sqs.receive_message(  # no long poll: has_work has just seen a message
                QueueUrl=url, MaxNumberOfMessages=min(10, batch_size - len(messages)), WaitTimeSeconds=0,
                AttributeNames=["All"], MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
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
        threading.Thread(target=self._process_in_slot, args=(sqs, url, mapping, messages), daemon=True,
                         name=f"sqs-batch-{self.uuid[:8]}").start()
        with self._slots:  # the next batch once a slot is free
            while self._in_flight >= self._concurrency(mapping) and not self._stopped.is_set():
                self._slots.wait(0.5)
        return True

    def _process_in_slot(self, sqs: Any, url: str, mapping: dict[str, Any], messages: list[dict[str, Any]]) -> None:
        try:
            self._process(sqs, url, mapping, messages)
        except Exception as error:  # the messages stay in flight and come back after their timeout
            print(f"sqs mapping {self.uuid} failed on a batch: {error!r}", flush=True)
        finally:
            with self._slots:
                self._in_flight -= 1
                self._slots.notify_all()

    def _process(self, sqs: Any, url: str, mapping: dict[str, Any], messages: list[dict[str, Any]]) -> None:
        records = [aws_events.sqs_lambda_record(m, queue_arn=mapping["EventSourceArn"], region=self.region)
                   for m in messages]
        passing = self.passing(mapping, records)
        passing_ids = {r["messageId"] for r in passing}
        done = [m for m in messages if m["MessageId"] not in passing_ids]  # AWS deletes filtered-out messages
        if passing:
            result = self.invoke(mapping, passing)
            if not result.function_error:
                failed: set[str] | None = set()
                if "ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []):
                    failed = failed_items(result.payload, passing_ids)
                if failed is not None:
                    done += [m for m in messages if m["MessageId"] in passing_ids - failed]
            # Failed messages stay in flight until the queue's visibility timeout; the queue's
            # redrive policy moves them to its dead-letter queue after maxReceiveCount.
        self._finish(sqs, url, done, passing_ids)

    def _finish(self, sqs: Any, url: str, done: list[dict[str, Any]], passing_ids: set[str]) -> None:
        chaos = self._service.chaos
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
        for chunk in _chunks(deletions, 10):
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
        for message in redeliveries:  # an at-least-once duplicate: the message comes back
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)


class StreamPoller(_Poller):
    """Read each shard in order, invoke per batch, retry a failed batch before moving on."""

    source = "dynamodb"

    def __init__(self, service: PollerService, region: str, uuid: str) -> None:
        self._iterators: dict[str, str] = {}
        self._pending: dict[str, deque[_Batch]] = {}
        self._length_read: int | None = None  # the stream's length when a read last came back empty
        super().__init__(service, region, uuid)

    def has_work(self, source_arn: str) -> bool:
        if not self._iterators or any(self._pending.values()):
            return True
        length = moto_dynamodb.stream_length(source_arn)
        return length is None or length != self._length_read

    def poll_once(self, mapping: dict[str, Any]) -> bool:
        streams = self.clients().client("dynamodbstreams")
        stream_arn = mapping["EventSourceArn"]
        if not self._iterators:
            self._open_shards(streams, stream_arn, mapping.get("StartingPosition") or "TRIM_HORIZON")
            moto_mappings.mark_mapping_ready(self.region, self.uuid)
        length = moto_dynamodb.stream_length(stream_arn)  # has_work compares it with the next one
        self._length_read = None
        worked = False
        for shard_id in list(self._iterators):
            pending = self._pending.setdefault(shard_id, deque())
            if not pending:
                response = streams.get_records(ShardIterator=self._iterators[shard_id],
                                               Limit=int(mapping.get("BatchSize") or 100))
                self._iterators[shard_id] = response.get("NextShardIterator") or self._iterators[shard_id]
                if response.get("Records"):
                    pending.append(_Batch(shard_id, response["Records"]))
                else:
                    self._length_read = length
            if pending:
                self.busy = worked = True
                self._process(mapping, pending)
        return worked

    def _open_shards(self, streams: Any, stream_arn: str, position: str) -> None:
        shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"].get("Shards", [])
        for shard in shards:
            shard_id = shard["ShardId"]
            checkpoint = moto_mappings.stream_checkpoint(self.region, self.uuid, shard_id)
            if checkpoint:  # a restarted emulator: on from the last record finished with
                where = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": checkpoint}
            else:
                where = {"ShardIteratorType": "LATEST" if position == "LATEST" else "TRIM_HORIZON"}
            self._iterators[shard_id] = streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard_id, **where)["ShardIterator"]

    def _done_with(self, pending: deque[_Batch]) -> None:
        batch = pending.popleft()
        moto_mappings.set_stream_checkpoint(self.region, self.uuid, batch.shard_id,
                                            batch.raw[-1]["dynamodb"]["SequenceNumber"])

    def _process(self, mapping: dict[str, Any], pending: deque[_Batch]) -> None:
        batch = pending[0]
        records = [aws_events.dynamodb_lambda_record(r, stream_arn=mapping["EventSourceArn"]) for r in batch.raw]
        passing = self.passing(mapping, records)
        if not passing:
            self._done_with(pending)
            return
        result = self.invoke(mapping, passing)
        if not result.function_error:
            failed: set[str] | None = set()
            if "ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []):
                failed = failed_items(result.payload, {r["dynamodb"]["SequenceNumber"] for r in passing})
            if failed == set():
                if not batch.doubled and self._service.chaos.duplicate():
                    batch.doubled = True  # at least once: the same batch is handed over again, once
                    return
                self._done_with(pending)
                return
            if failed:  # retry from the lowest failed sequence number, in order
                lowest = min(failed, key=int)
                batch.raw = [r for r in batch.raw if int(r["dynamodb"]["SequenceNumber"]) >= int(lowest)]
        self._retry_or_give_up(mapping, pending, batch, result)

    def _retry_or_give_up(self, mapping: dict[str, Any], pending: deque[_Batch], batch: _Batch, result: Any) -> None:
        if result.function_error and mapping.get("BisectBatchOnFunctionError") and len(batch.raw) > 1:
            half = len(batch.raw) // 2
            pending.popleft()
            pending.appendleft(_Batch(batch.shard_id, batch.raw[half:], batch.attempts))
            pending.appendleft(_Batch(batch.shard_id, batch.raw[:half], batch.attempts))
            return
        batch.attempts += 1
        max_retries = int(mapping.get("MaximumRetryAttempts", -1) if mapping.get("MaximumRetryAttempts") is not None
                          else -1)
        max_age = float(mapping.get("MaximumRecordAgeInSeconds") or -1)
        too_old = max_age > 0 and time.time() - batch.oldest_arrival() > self._service.settings.scaled(max_age)
        if too_old or (max_retries >= 0 and batch.attempts > max_retries):
            self._done_with(pending)
            self._send_to_on_failure(mapping, batch, "RecordAgeExceeded" if too_old else "RetryAttemptsExhausted",
                                     result)
            return
        backoff = min(2 ** (batch.attempts - 1), 60)  # AWS backs off between retries of a shard's batch
        self._stopped.wait(self._service.settings.scaled(backoff))

    def _send_to_on_failure(self, mapping: dict[str, Any], batch: _Batch, condition: str, result: Any) -> None:
        target = ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if not target:
            return  # AWS discards the batch and moves on
        spec = self._service.resolve(self.region, mapping["FunctionArn"])
        record = aws_events.stream_failure_record(
            condition=condition, function_arn=spec.arn, approximate_invoke_count=batch.attempts,
            shard_id=batch.shard_id, stream_arn=mapping["EventSourceArn"], records=batch.raw,
            function_error="Unhandled" if result.function_error else None,
        )
        self._service.send_to_target(target, json.dumps(record), {})


class _Batch:
    def __init__(self, shard_id: str, raw: list[dict[str, Any]], attempts: int = 0) -> None:
        self.shard_id, self.raw, self.attempts = shard_id, raw, attempts
        self.doubled = False  # handed over a second time already by the duplicate switch

    def oldest_arrival(self) -> float:
        created = self.raw[0]["dynamodb"].get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            return created.replace(tzinfo=created.tzinfo or timezone.utc).timestamp()
        return float(created or time.time())


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
