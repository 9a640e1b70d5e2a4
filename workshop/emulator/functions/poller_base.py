"""What every mapping poller shares: its loop, its mapping's settings re-read each cycle, its batches."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from workshop.aws import filter_patterns
from workshop.emulator.moto_adapters import event_source_mappings as moto_mappings
from workshop.emulator.ports import PollerService

__all__ = ["SUPERVISOR_INTERVAL_SECONDS", "Batch", "Poller", "SourceGone", "chunks"]

SUPERVISOR_INTERVAL_SECONDS = 0.1


class SourceGone(LookupError):
    """The mapping's queue or stream does not exist (deleted, or its stream switched off)."""


class Poller:
    source = ""

    def __init__(self, service: PollerService, region: str, uuid: str) -> None:
        self._service, self.region, self.uuid = service, region, uuid
        self._stopped = threading.Event()
        self.busy = False
        self.records = self.batches = 0
        self._patterns_key: str | None = None
        self._patterns: list[dict[str, Any]] = []
        self._bell: str | None = None  # the source whose bell the poller sleeps on
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"{self.source}-poller-{uuid[:8]}")
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._bell:
            self._service.bells.ring(self._bell)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            switch = moto_mappings.event_source_mapping_switch(self.region, self.uuid)
            if switch is None:
                return
            enabled, source_arn = switch
            if not enabled:
                self._stopped.wait(SUPERVISOR_INTERVAL_SECONDS)
                continue
            # A class leaves dozens of idle mappings behind: an idle poller looks for work in
            # process (no API call, no configuration read) and sleeps until its source is
            # written to (source_bells).
            self._bell = self.bell_of(source_arn)
            rung = self._service.bells.rung(self._bell)
            if not self.has_work(source_arn):
                self._service.bells.wait(self._bell, rung, self.idle_timeout())
                continue
            mapping = moto_mappings.event_source_mapping(self.region, self.uuid)
            if mapping is None:
                return
            try:
                worked = self.poll_once(mapping)
            except (SourceGone, ClientError) as error:  # the source was deleted or is not ready yet
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
                self._service.bells.wait(self._bell, rung, self.idle_timeout())

    def has_work(self, source_arn: str) -> bool:
        """Whether a poll could find records now; True when unsure (the poll then says why not)."""
        raise NotImplementedError

    def bell_of(self, source_arn: str) -> str:
        """The bell the source rings when written to."""
        return source_arn

    def idle_timeout(self) -> float:
        """How long an idle poller may sleep if its bell does not ring (the bells cap it)."""
        return float("inf")

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

    def invoke(
        self,
        mapping: dict[str, Any],
        records: list[dict[str, Any]],
        notes: dict[str, Any] | None = None,
        links: list[str] | None = None,
    ) -> Any:
        """One batch to the function. A mapping's invocation starts a trace of its own (for SQS
        linked to its messages' traces: ``links``); ``notes`` are the emulator's for the trace."""
        self.records += len(records)
        self.batches += 1
        spec = self._service.resolve(self.region, mapping["FunctionArn"])
        return self._service.invoke(
            spec,
            json.dumps({"Records": records}).encode(),
            retried_by="sqs" if self.source == "sqs" else "stream",
            notes=notes,
            links=links,
        )


class Batch:
    def __init__(self, shard_id: str, raw: list[dict[str, Any]], attempts: int = 0) -> None:
        self.shard_id, self.raw, self.attempts = shard_id, raw, attempts
        self.doubled = False  # handed over a second time already by the duplicate switch

    def oldest_arrival(self) -> float:
        created = self.raw[0]["dynamodb"].get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            return created.replace(tzinfo=created.tzinfo or UTC).timestamp()
        return float(created or time.time())


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
