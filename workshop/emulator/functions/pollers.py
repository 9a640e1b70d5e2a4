"""Event-source mappings, run the way the Lambda service runs them: pollers on public APIs.

A supervisor starts one poller per mapping and stops it when the mapping goes. Each
poller re-reads its mapping every cycle, so UpdateEventSourceMapping (Enabled, BatchSize,
FilterCriteria, ...) takes effect at once. Pollers read with ReceiveMessage and GetRecords
like any other client, so a learner's own GetRecords still sees every stream record.
"""

from __future__ import annotations

import threading

from workshop.emulator.functions.poller_base import SUPERVISOR_INTERVAL_SECONDS, Poller
from workshop.emulator.functions.sqs_poller import SqsPoller
from workshop.emulator.functions.stream_poller import StreamPoller
from workshop.emulator.moto_adapters import event_source_mappings as moto_mappings
from workshop.emulator.ports import PollerService

__all__ = ["MappingSupervisor"]


class MappingSupervisor:
    def __init__(self, service: PollerService) -> None:
        self._service = service
        self._pollers: dict[str, Poller] = {}
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
