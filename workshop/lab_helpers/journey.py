"""One file's journey through the pipeline, read from X-Ray and drawn as a sequence diagram.

``traced_upload`` uploads as an instrumented client does: the PutObject carries a trace header of
its own, and the upload is recorded as the notebook's segment (PutTraceSegments). S3 passes the
header on to the notification, so every invocation the upload causes joins that trace, on the
emulator and on AWS alike (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-s3.html).
``journey`` reads the trace back through X-Ray's API and draws it (:mod:`.sequence_diagram`): the upload, each delivery of its
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
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions

from workshop.aws import xray
from workshop.aws.xray import TraceHeader
from workshop.core import backend as backends
from workshop.core.backend import Backend
from workshop.core.waiting import wait_until_settled
from workshop.lab_helpers import kit_emulator
from workshop.lab_helpers.diagrams import Diagram
from workshop.lab_helpers.http_api import post_json
from workshop.lab_helpers.sequence_diagram import NOTEBOOK, draw

__all__ = ["Trip", "journey", "segment_documents", "traced", "traced_post", "traced_upload"]


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
    try:
        aws.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(segment)])
    except (botocore.exceptions.ClientError, botocore.exceptions.EndpointConnectionError) as error:
        # the call was made and its trace goes on: the picture only lacks its first step
        print(f"The notebook's own step was not recorded in X-Ray ({error}); the rest of the trace is.")


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
        # X-Ray takes seconds to index a trace, and each read retrieves every trace of the window (a
        # billed retrieval: https://aws.amazon.com/xray/pricing/): on AWS, read every 2 s, not 10 times a second.
        quiet, timeout, interval = (0.5, 30.0, 0.1) if aws.is_local else (15.0, 180.0, 2.0)
        segments = wait_until_settled(
            read, f"the journey of trace {trace_id}", quiet=quiet, timeout=timeout, interval=interval
        )
    else:
        segments = read()
    return draw(segments, on_aws=not aws.is_local, names=aws.names())


def _segments(client: Any, trace_id: str, since: float) -> list[dict[str, Any]]:
    """The trace's segments, and those of the traces it caused that AWS keeps apart, however far
    down: an SQS consumer's (linked to its sender's trace), a stream consumer's (which the
    emulator annotates with the write that caused it), and what those caused in turn."""
    window = {"StartTime": since - 5, "EndTime": time.time() + 5}
    started_since = [s["Id"] for s in client.get_trace_summaries(**window)["TraceSummaries"]]
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for segment in segment_documents(client, sorted({trace_id, *started_since})):
        by_trace.setdefault(segment["trace_id"], []).append(segment)
    followed, grew = {trace_id}, True
    while grew:
        grew = False
        for other, segments in by_trace.items():
            if other not in followed and any(_caused_by(segment) & followed for segment in segments):
                followed.add(other)
                grew = True
    return [segment for other in sorted(followed) for segment in by_trace.get(other, [])]


def _caused_by(segment: dict[str, Any]) -> set[str]:
    """The traces a segment's trace came from: its links, and the emulator's word on a stream's."""
    causes = {link.get("trace_id", "") for link in segment.get("links", [])}
    caused = (segment.get("annotations") or {}).get("emulator_caused_by")
    return causes | ({caused} if caused else set())


def segment_documents(client: Any, trace_ids: list[str]) -> list[dict[str, Any]]:
    """Every segment document of these traces, read in BatchGetTraces' batches of five."""
    documents = []
    for start in range(0, len(trace_ids), xray.MAX_TRACE_IDS_PER_BATCH):
        batch = trace_ids[start : start + xray.MAX_TRACE_IDS_PER_BATCH]
        for trace in client.batch_get_traces(TraceIds=batch)["Traces"]:
            documents += [json.loads(s["Document"]) for s in trace["Segments"]]
    return documents
