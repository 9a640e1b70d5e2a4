"""X-Ray's trace store on the emulator: segments in, traces, summaries and a service graph out.

What AWS documents is kept: a segment document's required fields, subsegments sent on their own
joining their parent, a trace's summary (duration, response time, error/fault/throttle, the
services it went through, its annotations) and the service graph's nodes and edges with their
counts: https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html and
https://docs.aws.amazon.com/xray/latest/api/API_GetServiceGraph.html

The store keeps the newest ``MAX_TRACES`` traces (AWS keeps 30 days; a day's workshop makes a few
hundred a learner, a traced 1,000-file pipeline run a few thousand segments; a trace holds a few
KB). Each segment remembers whose it is (the resource it describes, or the participant who sent
it), so a shared emulator answers a participant with their own segments only.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from workshop.aws import xray

__all__ = ["BadSegment", "TraceStore"]

MAX_TRACES = 5_000
Visible = Callable[[str | None], bool]  # (the owner a segment was stored with) -> may the caller see it


def everyone(owner: str | None) -> bool:
    return True


class BadSegment(ValueError):
    """A document X-Ray would not accept: ``code`` is the ErrorCode of UnprocessedTraceSegments."""

    def __init__(self, segment_id: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.segment_id, self.code = segment_id, code


@dataclass
class _Trace:
    first: float  # the earliest and latest start_time of its segments: whatever part of it a
    latest: float  # caller sees started between them, so a time window is judged on them first
    segments: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> document
    owners: dict[str, str | None] = field(default_factory=dict)  # segment id -> owner
    loose: dict[str, dict[str, Any]] = field(default_factory=dict)  # subsegments sent on their own


class TraceStore:
    def __init__(self, max_traces: int = MAX_TRACES) -> None:
        self._traces: OrderedDict[str, _Trace] = OrderedDict()  # oldest first
        self._max = max_traces
        self._lock = threading.Lock()

    def put(self, document: dict[str, Any], owner: str | None = None) -> None:
        """Store one segment (or a subsegment sent on its own); a complete segment replaces the
        in-progress one of the same id, as X-Ray does."""
        segment_id = document.get("id")
        for name in ("id", "trace_id", "start_time"):
            if name not in document:
                raise BadSegment(segment_id, "MissingParam", f"Missing {name}")
        if "name" not in document:
            raise BadSegment(segment_id, "MissingParam", "Missing name")
        if not xray.TRACE_ID.match(str(document["trace_id"])):
            raise BadSegment(segment_id, "InvalidTraceId", f"Invalid trace id {document['trace_id']!r}")
        if not xray.SEGMENT_ID.match(str(segment_id)):
            raise BadSegment(segment_id, "InvalidSegmentId", f"Invalid segment id {segment_id!r}")
        if "end_time" not in document and not document.get("in_progress"):
            raise BadSegment(segment_id, "MissingParam", "Missing end_time or in_progress")
        subsegment = document.get("type") == "subsegment"
        if subsegment and not document.get("parent_id"):
            raise BadSegment(segment_id, "MissingParam", "A subsegment sent alone needs its parent_id")
        started = float(document["start_time"])
        with self._lock:
            trace = self._traces.get(document["trace_id"])
            if trace is None:
                trace = self._traces[document["trace_id"]] = _Trace(started, started)
                while len(self._traces) > self._max:
                    self._traces.popitem(last=False)
            trace.first, trace.latest = min(trace.first, started), max(trace.latest, started)
            (trace.loose if subsegment else trace.segments)[segment_id] = document
            trace.owners[segment_id] = owner

    # ---- reading -------------------------------------------------------------------------

    def traces(self, trace_ids: Iterable[str], visible: Visible = everyone) -> tuple[list[dict[str, Any]], list[str]]:
        """BatchGetTraces: each trace's segments the caller may see, subsegments in place."""
        found, unprocessed = [], []
        for trace_id in trace_ids:
            segments = self._assembled(trace_id, visible)
            if not segments:
                unprocessed.append(trace_id)
                continue
            start, end = _span(segments)
            found.append(
                {
                    "Id": trace_id,
                    "Duration": round(end - start, 3),
                    "LimitExceeded": False,
                    "Segments": [{"Id": s["id"], "Document": s} for s in segments],
                }
            )
        return found, unprocessed

    def summaries(
        self, start: float, end: float, matches: Callable[[list[dict[str, Any]]], bool], visible: Visible = everyone
    ) -> tuple[list[dict[str, Any]], int]:
        """GetTraceSummaries: traces that started in [start, end] and match; newest first, with
        the number of traces looked at (X-Ray's TracesProcessedCount)."""
        summaries, processed = [], 0
        for trace_id in reversed(self._started_between(start, end)):
            segments = self._assembled(trace_id, visible)
            if not segments:
                continue
            first, last = _span(segments)
            if not start <= first <= end:
                continue
            processed += 1
            if matches(segments):
                summaries.append(_summary(trace_id, segments, first, last))
        return summaries, processed

    def service_graph(self, start: float, end: float, visible: Visible = everyone) -> list[dict[str, Any]]:
        """GetServiceGraph: every service the caller's segments in [start, end] went through, each
        with its edges to the services it called and their counts."""
        graph = _Graph()
        for trace_id in self._started_between(start, end):
            segments = self._assembled(trace_id, visible)
            if segments and start <= _span(segments)[0] <= end:
                graph.add_trace(segments)
        return graph.services()

    def _started_between(self, start: float, end: float) -> list[str]:
        """The traces whose first segment a caller sees may have started in [start, end], oldest
        first, without assembling any (the caller's own first segment is judged after)."""
        with self._lock:
            return [
                trace_id for trace_id, trace in self._traces.items() if trace.first <= end and trace.latest >= start
            ]

    def _assembled(self, trace_id: str, visible: Visible) -> list[dict[str, Any]]:
        """The trace's segments the caller may see, each a copy with its loose subsegments put
        under their parents, oldest first."""
        with self._lock:
            trace = self._traces.get(trace_id)
            if trace is None:
                return []
            segments = [copy.deepcopy(s) for i, s in trace.segments.items() if visible(trace.owners.get(i))]
            loose = [copy.deepcopy(s) for i, s in trace.loose.items() if visible(trace.owners.get(i))]
        by_id: dict[str, dict[str, Any]] = {}
        for segment in segments:
            for entity in xray.entities(segment):
                by_id[entity["id"]] = entity
        for subsegment in sorted(loose, key=lambda s: s["start_time"]):
            parent = by_id.get(subsegment["parent_id"])
            if parent is not None:
                subsegment = {k: v for k, v in subsegment.items() if k not in ("type", "trace_id", "parent_id")}
                parent.setdefault("subsegments", []).append(subsegment)
                by_id[subsegment["id"]] = subsegment
        return sorted(segments, key=lambda s: s["start_time"])


def _end(entity: dict[str, Any]) -> float:
    return float(entity.get("end_time") or entity["start_time"])


def _span(segments: list[dict[str, Any]]) -> tuple[float, float]:
    return min(float(s["start_time"]) for s in segments), max(_end(s) for s in segments)


def _service_id(segment: dict[str, Any]) -> dict[str, Any]:
    return {"Name": segment["name"], "Names": [segment["name"]], "Type": _node_type(segment)}


def _node_type(segment: dict[str, Any]) -> str:
    # a segment without an origin is the caller's own code, which X-Ray's map shows as a client
    return str(segment.get("origin") or "client")


def _summary(trace_id: str, segments: list[dict[str, Any]], first: float, last: float) -> dict[str, Any]:
    entities = [e for s in segments for e in xray.entities(s)]
    ids = {s["id"] for s in segments}
    roots = [s for s in segments if s.get("parent_id") not in ids]
    root = roots[0] if roots else segments[0]
    annotations: dict[str, list[dict[str, Any]]] = {}
    for segment in segments:
        for entity in xray.entities(segment):
            for key, value in (entity.get("annotations") or {}).items():
                kind = (
                    "BooleanValue"
                    if isinstance(value, bool)
                    else "NumberValue"
                    if isinstance(value, (int, float))
                    else "StringValue"
                )
                entry = {"AnnotationValue": {kind: value}, "ServiceIds": [_service_id(segment)]}
                if entry not in annotations.setdefault(key, []):
                    annotations[key].append(entry)
    services = []
    for segment in segments:
        service = _service_id(segment)
        if service not in services:
            services.append(service)
    return {
        "Id": trace_id,
        "StartTime": first,
        "Duration": round(last - first, 3),
        "ResponseTime": round(_end(root) - float(root["start_time"]), 3),
        "HasFault": any(e.get("fault") for e in entities),
        "HasError": any(e.get("error") for e in entities),
        "HasThrottle": any(e.get("throttle") for e in entities),
        "IsPartial": any(e.get("in_progress") for e in entities),
        "Annotations": annotations,
        "ServiceIds": services,
        "EntryPoint": _service_id(root),
        "ResourceARNs": sorted(
            ({"ARN": s["resource_arn"]} for s in segments if s.get("resource_arn")), key=lambda a: a["ARN"]
        ),
    }


def _statistics() -> dict[str, Any]:
    return {
        "OkCount": 0,
        "ErrorStatistics": {"ThrottleCount": 0, "OtherCount": 0, "TotalCount": 0},
        "FaultStatistics": {"OtherCount": 0, "TotalCount": 0},
        "TotalCount": 0,
        "TotalResponseTime": 0.0,
    }


def _count(statistics: dict[str, Any], entity: dict[str, Any]) -> None:
    statistics["TotalCount"] += 1
    statistics["TotalResponseTime"] = round(statistics["TotalResponseTime"] + _end(entity) - entity["start_time"], 6)
    if entity.get("fault"):
        statistics["FaultStatistics"]["TotalCount"] += 1
        statistics["FaultStatistics"]["OtherCount"] += 1
    elif entity.get("throttle"):
        statistics["ErrorStatistics"]["TotalCount"] += 1
        statistics["ErrorStatistics"]["ThrottleCount"] += 1
    elif entity.get("error"):
        statistics["ErrorStatistics"]["TotalCount"] += 1
        statistics["ErrorStatistics"]["OtherCount"] += 1
    else:
        statistics["OkCount"] += 1


# A downstream AWS call's node, as X-Ray infers it from the subsegment the caller recorded.
_INFERRED_TYPES = {"DynamoDB": "AWS::DynamoDB::Table", "S3": "AWS::S3::Bucket", "SQS": "AWS::SQS::Queue"}


def _inferred(subsegment: dict[str, Any]) -> tuple[str, str] | None:
    """The (name, type) of the node an AWS SDK call's subsegment stands for, None for others."""
    if subsegment.get("namespace") != "aws":
        return None
    service, aws = subsegment["name"], subsegment.get("aws") or {}
    resource = aws.get("table_name") or aws.get("bucket_name") or (aws.get("queue_url") or "").rsplit("/", 1)[-1]
    if service in _INFERRED_TYPES and resource:
        return resource, _INFERRED_TYPES[service]
    return service, f"AWS::{service}"


class _Graph:
    def __init__(self) -> None:
        self._nodes: dict[tuple[str, str], dict[str, Any]] = {}
        self._edges: dict[tuple[tuple[str, str], tuple[str, str]], dict[str, Any]] = {}
        self._queues_fed: dict[str, list[tuple[str, str]]] = {}  # trace id -> the SQS queues it sent to
        self._linked: list[tuple[tuple[str, str], dict[str, Any]]] = []  # consumers' segments with links

    def _node(self, key: tuple[str, str], entity: dict[str, Any] | None) -> dict[str, Any]:
        node = self._nodes.get(key)
        if node is None:
            node = self._nodes[key] = {"key": key, "statistics": _statistics(), "start": None, "end": None}
        if entity is not None:
            _count(node["statistics"], entity)
            start, end = float(entity["start_time"]), _end(entity)
            node["start"] = start if node["start"] is None else min(node["start"], start)
            node["end"] = end if node["end"] is None else max(node["end"], end)
        return node

    def _edge(
        self, source: tuple[str, str], target: tuple[str, str], entity: dict[str, Any], kind: str | None = None
    ) -> None:
        edge = self._edges.setdefault(
            (source, target), {"statistics": _statistics(), "start": None, "end": None, "kind": kind}
        )
        _count(edge["statistics"], entity)
        start, end = float(entity["start_time"]), _end(entity)
        edge["start"] = start if edge["start"] is None else min(edge["start"], start)
        edge["end"] = end if edge["end"] is None else max(edge["end"], end)

    def add_trace(self, segments: list[dict[str, Any]]) -> None:
        owner_of: dict[str, tuple[str, str]] = {}  # entity id -> the node of the segment holding it
        for segment in segments:
            key = (segment["name"], _node_type(segment))
            self._node(key, segment)
            for entity in xray.entities(segment):
                owner_of[entity["id"]] = key
        for segment in segments:
            key = owner_of[segment["id"]]
            caller = owner_of.get(segment.get("parent_id") or "")
            if caller is not None and caller != key:
                self._edge(caller, key, segment)
            for entity in list(xray.entities(segment))[1:]:
                inferred = _inferred(entity)
                if inferred is not None:
                    self._node(inferred, entity)
                    self._edge(key, inferred, entity)
                    if inferred[1] == "AWS::SQS::Queue":
                        self._queues_fed.setdefault(segment["trace_id"], []).append(inferred)
            if segment.get("links"):
                self._linked.append((key, segment))

    def _link_consumers(self) -> None:
        """An SQS consumer's trace is linked to its senders': an edge of kind ``link`` from each
        queue a linked trace sent to (https://docs.aws.amazon.com/xray/latest/devguide/xray-tracelinking.html)."""
        for key, segment in self._linked:
            for link in segment["links"]:
                for queue in self._queues_fed.get(link.get("trace_id", ""), []):
                    self._edge(queue, key, segment, kind="link")
        self._linked = []

    def services(self) -> list[dict[str, Any]]:
        self._link_consumers()
        references = {key: number for number, key in enumerate(self._nodes)}
        services = []
        for key, node in self._nodes.items():
            edges = [
                {
                    "ReferenceId": references[target],
                    "StartTime": edge["start"],
                    "EndTime": edge["end"],
                    "SummaryStatistics": edge["statistics"],
                    "Aliases": [],
                    **({"EdgeType": edge["kind"]} if edge["kind"] else {}),
                }
                for (source, target), edge in self._edges.items()
                if source == key
            ]
            name, kind = key
            services.append(
                {
                    "ReferenceId": references[key],
                    "Name": name,
                    "Names": [name],
                    "Type": kind,
                    "Root": not any(target == key for _, target in self._edges),
                    "State": "active",
                    "StartTime": node["start"],
                    "EndTime": node["end"],
                    "Edges": edges,
                    "SummaryStatistics": node["statistics"],
                }
            )
        return services
