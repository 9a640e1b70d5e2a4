"""One file's journey through the pipeline, read from X-Ray and drawn as a sequence diagram.

``traced_upload`` uploads as an instrumented client does: the PutObject carries a trace header of
its own, and the upload is recorded as the notebook's segment (PutTraceSegments). S3 passes the
header on to the notification, so every invocation the upload causes joins that trace, on the
emulator and on AWS alike (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-s3.html).
``journey`` reads the trace back through X-Ray's API and draws it: the upload, each delivery of its
event, each invocation with its duration and outcome, each call the handler made (a conditional
write accepted or refused, a copy, a message) and what those calls caused in turn.

A redelivery and a second upload look different: a redelivered event is a second invocation in
the same trace; an upload of the same file again is a trace, and a diagram, of its own.

What AWS does not link, the diagram says: an SQS consumer's invocation is a trace of its own,
linked to the sender's; a stream consumer's is new, linked to nothing; a handler's own calls are
recorded on AWS only when the handler is instrumented (X-Ray SDK, Powertools' Tracer). The
emulator knows these and follows them, marking what it adds as its own (``emulator_``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from workshop.aws import xray
from workshop.aws.xray import TraceHeader
from workshop.core import backend as backends
from workshop.core.backend import Backend
from workshop.core.waiting import wait_until_settled
from workshop.lab_helpers import kit_emulator
from workshop.lab_helpers.diagrams import Diagram, label
from workshop.lab_helpers.http_api import post_json

__all__ = ["Trip", "journey", "traced", "traced_post", "traced_upload"]

NOTEBOOK = "notebook"
# AWS's own limits on what the diagram may say: https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html
AWS_NOTES = (
    "On AWS: a handler's own calls appear only when it is instrumented (X-Ray SDK, Powertools' Tracer); "
    "an SQS consumer's trace is linked to the sender's, not continued; a stream consumer's starts anew; "
    "Lambda records the first request each second and 5% of the rest.",
)
# Calls after which a function's event may come: the services that deliver to Lambda.
_DELIVERING = {"PutObject", "CopyObject", "Publish", "Invoke"}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}
_SENDS = {"SendMessage", "SendMessageBatch"}


@dataclass(frozen=True)
class Trip:
    """A traced call: the trace every step it causes joins, and what the call answered."""

    trace_id: str
    started: float
    key: str
    answer: Any = field(default=None, compare=False, repr=False)


def traced(client: Any, operation: str, aws: Backend | None = None, name: str = NOTEBOOK, **params: Any) -> Trip:
    """Make one call (``operation``: the client's method name, ``publish``) under a trace of its
    own, and record it as the notebook's segment, as an instrumented client does; the Trip names
    the trace every step it causes joins, and holds the call's answer."""
    header = TraceHeader.start().under(xray.new_segment_id())
    started = time.time()
    with xray.sending(client, header):
        answer = getattr(client, operation)(**params)
    fields = {"operation": client.meta.method_to_api_mapping.get(operation, operation)}
    # names only: DynamoDB's Key is an item's key, not a name
    fields |= {field: params[key] for key, field in xray.RESOURCE_FIELDS.items() if isinstance(params.get(key), str)}
    service = client.meta.service_model.signing_name
    call = {"name": xray.SERVICE_NAMES.get(service, service), "namespace": "aws", "aws": fields}
    _record(aws or backends.current(), name, header, started, call)
    return Trip(header.root, started, str(params.get("Key", operation)), answer)


def traced_post(url: str, body: Any, aws: Backend | None = None, name: str = NOTEBOOK) -> Trip:
    """POST ``body`` as JSON to an HTTP API under a trace of its own; the Trip's answer is
    (status, decoded answer). A REST API passes the trace on to its function
    (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-apigateway.html)."""
    header = TraceHeader.start().under(xray.new_segment_id())
    started = time.time()
    status, answer = post_json(url, body, headers={xray.HEADER: str(header)})
    path = urlsplit(url).path.rsplit("/", 1)[-1]
    call = {
        "name": "REST API",
        "namespace": "remote",
        "http": {"request": {"method": "POST", "url": f".../{path}"}, "response": {"status": status}},
    }
    if status >= 400:
        call["error" if status < 500 else "fault"] = True
    _record(aws or backends.current(), name, header, started, call)
    return Trip(header.root, started, path, (status, answer))


def _record(aws: Backend, name: str, header: TraceHeader, started: float, call: dict[str, Any]) -> None:
    """The notebook's segment: its one call, as the X-Ray SDK records an instrumented client's."""
    ended = time.time()
    call.update(id=xray.new_segment_id(), start_time=started, end_time=ended)
    segment = {
        "name": name,
        "id": header.parent,
        "trace_id": header.root,
        "start_time": started,
        "end_time": ended,
        "subsegments": [call],
    }
    aws.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(segment)])


def traced_upload(bucket: str, key: str, body: bytes | str, aws: Backend | None = None, name: str = NOTEBOOK) -> Trip:
    """Upload ``body`` to ``bucket``/``key`` under a trace of its own (see :func:`traced`)."""
    aws = aws or backends.current()
    data = body.encode() if isinstance(body, str) else body
    return traced(aws.client("s3"), "put_object", aws, name, Bucket=bucket, Key=key, Body=data)


def journey(trip: Trip | str, aws: Backend | None = None, wait: bool = True) -> Diagram:
    """The sequence diagram of a trip (or of a trace id), once nothing more arrives in it."""
    aws = aws or backends.current()
    trace_id = trip.trace_id if isinstance(trip, Trip) else trip
    since = trip.started if isinstance(trip, Trip) else time.time() - 3600
    client = aws.client("xray")

    kit = aws.is_kit_emulator() and aws == backends.current()  # its idle report is the current backend's

    def read() -> list[dict[str, Any]]:
        # the kit's emulator says when nothing is on its way (a delivery, an invocation, a poll)
        if kit and not kit_emulator.call("idle", "The emulator's idle report")["idle"]:
            return []
        return _segments(client, trace_id, since)

    if wait:
        quiet, timeout = (0.5, 30.0) if aws.is_local else (15.0, 180.0)  # X-Ray takes seconds to index
        segments = wait_until_settled(read, f"the journey of trace {trace_id}", quiet=quiet, timeout=timeout)
    else:
        segments = read()
    return draw(segments, on_aws=not aws.is_local)


def _segments(client: Any, trace_id: str, since: float) -> list[dict[str, Any]]:
    """The trace's segments, and those of the traces it caused that AWS keeps apart (an SQS
    consumer's, linked; a stream consumer's, which the emulator annotates with its cause)."""
    found = _documents(client, [trace_id])
    window = {"StartTime": since - 5, "EndTime": time.time() + 5}
    caused = client.get_trace_summaries(**window, FilterExpression=f'annotation.emulator_caused_by = "{trace_id}"')
    others = [s["Id"] for s in caused["TraceSummaries"] if s["Id"] != trace_id]
    summaries = client.get_trace_summaries(**window)["TraceSummaries"]
    candidates = [s["Id"] for s in summaries if s["Id"] not in others and s["Id"] != trace_id]
    for segment in _documents(client, candidates):
        if any(link.get("trace_id") == trace_id for link in segment.get("links", [])):
            others.append(segment["trace_id"])
    return found + _documents(client, sorted(set(others)))


def _documents(client: Any, trace_ids: list[str]) -> list[dict[str, Any]]:
    documents = []
    for start in range(0, len(trace_ids), xray.MAX_TRACE_IDS_PER_BATCH):
        batch = trace_ids[start : start + xray.MAX_TRACE_IDS_PER_BATCH]
        for trace in client.batch_get_traces(TraceIds=batch)["Traces"]:
            documents += [json.loads(s["Document"]) for s in trace["Segments"]]
    return documents


# ---- drawing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    at: float
    source: str
    target: str
    message: str
    arrow: str = "->>"  # mermaid: ->> a call, -) an event delivered, -x a refusal
    note: str | None = None  # said over the target after the step


def draw(segments: list[dict[str, Any]], on_aws: bool = False) -> Diagram:
    """The sequence diagram of these segments (of one trace and those it caused): each invocation
    a block of its own (its event, its calls, how it ended), the blocks in the order the events
    came, so two runs of one function at once do not interleave."""
    by_id = {e["id"]: e for s in segments for e in _entities(s)}
    owner = {e["id"]: s for s in segments for e in _entities(s)}
    runs = {s["parent_id"]: s for s in segments if s.get("origin") == "AWS::Lambda::Function" and s.get("parent_id")}
    blocks: list[tuple[float, bool, list[_Step]]] = []  # (when, an invocation's, steps)
    invocations: dict[str, int] = {}
    for segment in sorted(segments, key=lambda s: s["start_time"]):
        origin = segment.get("origin")
        if origin == "AWS::Lambda":
            number = invocations[segment["name"]] = invocations.get(segment["name"], 0) + 1
            steps = [_delivery(segment, by_id, owner, segments, number)]
            run = runs.get(segment["id"])
            steps += _handler(run, number) if run else []
            blocks.append((segment["start_time"], True, steps))
        elif origin == "emulator::EventSourceMapping":
            write = _latest_call(by_id.get(segment.get("parent_id") or ""), segment["start_time"], _WRITES)
            source = f"stream of {_resource(write)}" if write else "DynamoDB stream"
            event = segment.get("annotations", {}).get("emulator_filtered", "record")
            dropped = _Step(
                segment["start_time"], source, _function(segment["name"]), f"{event} filtered out (emulator)", "-x"
            )
            blocks.append((segment["start_time"], False, [dropped]))
        elif origin == "emulator::SQS::DeadLetterQueue":
            sent = _latest_call(by_id.get(segment.get("parent_id") or ""), segment["start_time"], _SENDS)
            receives = segment.get("annotations", {}).get("emulator_dead_lettered", "its")
            moved = _Step(
                segment["start_time"],
                _resource(sent) if sent else "SQS",
                f"SQS {segment['name']}",
                f"moved to the dead-letter queue after {receives} receives (emulator)",
                "-)",
            )
            blocks.append((segment["start_time"], False, [moved]))
        elif not origin:
            blocks += [(c["start_time"], False, [_call(segment.get("name", NOTEBOOK), c)]) for c in _calls(segment)]
    blocks.sort(key=lambda block: block[0])
    participants: list[str] = []
    for _, _, steps in blocks:
        for step in steps:
            participants += [name for name in (step.source, step.target) if name not in participants]
    ids = {name: f"p{number}" for number, name in enumerate(participants, 1)}  # the same in every run
    lines = ["sequenceDiagram", "    autonumber"]
    lines += [f"    participant {ids[p]} as {label(p)}" for p in participants]
    text: list[str] = []
    for _, invocation, steps in blocks:
        lines += ["    rect rgba(128, 128, 128, 0.08)"] if invocation else []
        for step in steps:
            lines.append(f"    {ids[step.source]}{step.arrow}{ids[step.target]}: {label(step.message)}")
            text.append(f"{len(text) + 1}. {step.source} → {step.target}: {step.message}")
            if step.note:
                lines.append(f"    Note over {ids[step.target]}: {label(step.note)}")
                text[-1] += f"\n   {step.note}"
        lines += ["    end"] if invocation else []
    if not blocks:
        text.append("(nothing recorded in this trace yet)")
    return Diagram("\n".join(lines), "\n".join(text), AWS_NOTES if on_aws else ())


def _entities(entity: dict[str, Any]) -> Iterable[dict[str, Any]]:
    yield entity
    for child in entity.get("subsegments", []):
        yield from _entities(child)


def _calls(segment: dict[str, Any]) -> list[dict[str, Any]]:
    """The segment's calls out: AWS SDK calls, and HTTP calls to other services."""
    return [s for s in segment.get("subsegments", []) if s.get("namespace") in ("aws", "remote")]


def _function(name: str) -> str:
    return f"λ {name}"


def _resource(call: dict[str, Any]) -> str:
    """The participant a call went to: the service and the resource it named."""
    if call.get("namespace") == "remote":
        return call["name"]
    fields = call.get("aws") or {}
    named = (
        fields.get("table_name")
        or fields.get("bucket_name")
        or (fields.get("queue_url") or "").rsplit("/", 1)[-1]
        or (fields.get("topic_arn") or "").rsplit(":", 1)[-1]
        or fields.get("function_name")
    )
    if call["name"] == "Lambda" and named:
        return _function(named)
    return f"{call['name']} {named}" if named else call["name"]


def _call(caller: str, call: dict[str, Any]) -> _Step:
    if call.get("namespace") == "remote":
        request, status = call["http"]["request"], call["http"]["response"]["status"]
        failed = call.get("error") or call.get("fault")
        return _Step(
            call["start_time"],
            caller,
            call["name"],
            f"{request['method']} {request['url']} → {status}",
            "-x" if failed else "->>",
        )
    fields = call.get("aws") or {}
    operation = fields.get("operation") or call["name"]
    what = f"{operation} {fields['key']}" if fields.get("key") else operation
    if call.get("error") or call.get("fault") or call.get("throttle"):
        refusal = ((call.get("cause") or {}).get("exceptions") or [{}])[0].get("type") or "refused"
        return _Step(call["start_time"], caller, _resource(call), f"{what} ✗ {refusal}", "-x")
    return _Step(call["start_time"], caller, _resource(call), f"{what} ✓")


def _handler(segment: dict[str, Any], number: int) -> list[_Step]:
    """The handler's calls, then how its run ended."""
    me = _function(segment["name"])
    steps = [_call(me, call) for call in _calls(segment)]
    duration = f"{(segment['end_time'] - segment['start_time']) * 1000:.0f} ms"
    init = next((s for s in segment.get("subsegments", []) if s["name"] in ("Init", "Initialization")), None)
    cold = f", cold start {(init['end_time'] - init['start_time']) * 1000:.0f} ms" if init else ""
    if segment.get("fault") or segment.get("error"):
        exception = ((segment.get("cause") or {}).get("exceptions") or [{}])[0]
        outcome = f"failed: {exception.get('type', 'error')} {exception.get('message', '')}".strip()
    else:
        outcome = "returned"
    steps.append(_Step(segment["end_time"], me, me, f"invocation {number} {outcome} after {duration}{cold}", "-->>"))
    return steps


def _delivery(segment: dict[str, Any], by_id: dict, owner: dict, segments: list[dict[str, Any]], number: int) -> _Step:
    """The event that started an invocation: who delivered it, and what the emulator knows of it."""
    target = _function(segment["name"])
    source = _cause(segment, by_id, owner)
    notes = segment.get("annotations") or {}
    message = f"event → invocation {number}"
    if segment.get("links"):
        source = source or _linked_queue(segment, segments) or "SQS"
        message = f"messages → invocation {number} (a trace of its own, linked to the sender's)"
    elif notes.get("emulator_caused_by"):
        source = source or _stream_of(notes["emulator_caused_by"], segments) or "DynamoDB stream"
        message = f"stream records → invocation {number} (a new trace: AWS links none)"
    said = [
        f"emulator: {value}" if key == "emulator_delivery" else f"emulator: attempt {value}"
        for key, value in notes.items()
        if key in ("emulator_delivery", "emulator_attempt")
    ]
    if notes.get("emulator_injected_failure"):
        said.append("emulator: reported failed by the teaching switch")
    return _Step(segment["start_time"], source or "caller", target, message, "-)", "; ".join(said) or None)


def _cause(segment: dict[str, Any], by_id: dict, owner: dict) -> str | None:
    """Who sent the event: the resource of the call it hangs under, or of the caller's latest
    delivering call before it (a handler's header names its function segment, not the call)."""
    parent = by_id.get(segment.get("parent_id") or "")
    if parent is None:
        return None
    if parent.get("namespace") in ("aws", "remote"):
        return _resource(parent)
    delivered_by = _latest_call(parent, segment["start_time"], _DELIVERING, http=True)
    if delivered_by:
        return _resource(delivered_by)
    holder = owner.get(parent["id"], parent)
    return _function(holder["name"]) if holder.get("origin") else holder.get("name", NOTEBOOK)


def _latest_call(
    caller: dict[str, Any] | None, before: float, operations: set[str], http: bool = False
) -> dict[str, Any] | None:
    """The caller's last call of one of ``operations`` (or an HTTP call, with ``http``) started by ``before``."""
    earlier = [
        c
        for c in _calls(caller or {})
        if c["start_time"] <= before and (_operation(c) in operations or (http and c.get("namespace") == "remote"))
    ]
    return max(earlier, key=lambda c: c["start_time"]) if earlier else None


def _operation(call: dict[str, Any]) -> str:
    return str((call.get("aws") or {}).get("operation") or "")


def _linked_queue(segment: dict[str, Any], segments: list[dict[str, Any]]) -> str | None:
    """The queue a linked trace's messages were sent to, from the sender's SendMessage."""
    linked = {link["trace_id"] for link in segment.get("links", [])}
    sends = [
        c
        for s in segments
        if s["trace_id"] in linked
        for e in _entities(s)
        for c in _calls(e)
        if _operation(c) in _SENDS
    ]
    return _resource(sends[-1]) if sends else None


def _stream_of(trace_id: str, segments: list[dict[str, Any]]) -> str | None:
    """The stream a write in trace ``trace_id`` went to: its table's."""
    writes = [
        c
        for s in segments
        if s["trace_id"] == trace_id
        for e in _entities(s)
        for c in _calls(e)
        if _operation(c) in _WRITES
    ]
    return f"stream of {_resource(writes[-1])}" if writes else None
