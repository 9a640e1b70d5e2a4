"""Lambda's active tracing on the emulator: each invocation's segments, and the handler's calls.

As on AWS (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html): every invocation
gets a trace header in ``_X_AMZN_TRACE_ID``, the caller's when one came with the event, a new
trace otherwise; a function with ``TracingConfig`` ``Active`` records two segments of one name,
origin ``AWS::Lambda`` (the service: from the event's arrival to the answer) and
``AWS::Lambda::Function`` (the handler's run, with an ``Init`` subsegment on a cold start); a
``PassThrough`` function records nothing and passes the header on. An upstream ``Sampled=0`` is
honoured. Where no one decided, the emulator records every request (AWS records the first request
each second and 5% of the rest).

The handler's own AWS calls reach the emulator with the header (botocore adds it inside Lambda),
so the emulator records each as a subsegment of the function segment, as the X-Ray SDK or
Powertools' Tracer would in the handler on AWS; their metadata says the emulator recorded them.
What only the emulator knows of a delivery (a duplicate the teaching switch injected, the attempt
of a retried event) is written as annotations whose keys start with ``emulator_``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from workshop.aws import sigv4, xray
from workshop.aws.xray import TraceHeader
from workshop.emulator.functions.models import FunctionSpec, Invocation
from workshop.emulator.xray_store import TraceStore

__all__ = ["DUPLICATE_DELIVERY", "EMULATOR_METADATA", "InvocationTrace", "Tracing"]

WSGI_HEADER = "HTTP_" + xray.HEADER.upper().replace("-", "_")
DUPLICATE_DELIVERY = "duplicate (teaching switch)"  # the emulator_delivery of a copy the switch added
EMULATOR_METADATA = "emulator"  # the metadata namespace of what only the emulator records
_RECORDED_BY = "the emulator; on AWS the handler records its calls with the X-Ray SDK or Powertools' Tracer"


@dataclass
class InvocationTrace:
    """One invocation's trace: the header its handler sees, and the segments it records."""

    header: TraceHeader  # as ``_X_AMZN_TRACE_ID`` carries it
    upstream_parent: str | None
    recording: bool
    received_at: float
    service_id: str = field(default_factory=xray.new_segment_id)
    function_id: str = field(default_factory=xray.new_segment_id)
    calls: list[dict[str, Any]] = field(default_factory=list)  # the handler's, once it has ended
    links: list[dict[str, str]] = field(default_factory=list)  # the traces this one is linked to


class Tracing:
    def __init__(self, store: TraceStore) -> None:
        self.store = store
        self._open: dict[str, list[dict[str, Any]]] = {}  # a running handler's function segment -> its calls
        self._lock = threading.Lock()

    # ---- invocations -----------------------------------------------------------------

    def begin(
        self, spec: FunctionSpec, upstream: str | None, received_at: float | None = None, links: list[str] | None = None
    ) -> InvocationTrace:
        """The trace of an invocation about to run; ``upstream`` is the header that came with the
        event (None: Lambda starts a trace), ``received_at`` when Lambda took the event, ``links``
        the headers of the SQS messages it handles: their traces are linked, not continued
        (https://docs.aws.amazon.com/xray/latest/devguide/xray-tracelinking.html)."""
        given = TraceHeader.parse(upstream)
        active = spec.tracing == "Active"
        if given is None:
            given = TraceHeader.start(sampled=active)
        elif given.sampled is None:
            given = TraceHeader(given.root, given.parent, active, given.lineage)
        trace = InvocationTrace(
            header=given,
            upstream_parent=given.parent,
            recording=active and bool(given.sampled),
            received_at=received_at or time.time(),
        )
        if trace.recording:
            trace.links = _links(links or [])
            trace.header = given.under(trace.function_id)
            with self._lock:
                self._open[trace.function_id] = []
        return trace

    def finish(
        self,
        trace: InvocationTrace,
        spec: FunctionSpec,
        result: Invocation,
        ended: float,
        notes: dict[str, Any] | None = None,
    ) -> None:
        """Record the invocation's two segments (an Active function's sampled request only);
        ``ended``: when the answer came (epoch seconds). The function's segment is its init and
        run, back from then; the service's, from the event's arrival to the answer."""
        if not trace.recording:
            return
        started = ended - ((result.init_ms or 0) + result.duration_ms) / 1000
        root = trace.header.root
        service_segment: dict[str, Any] = {
            "name": spec.name,
            "id": trace.service_id,
            "trace_id": root,
            "start_time": min(trace.received_at, started),  # an event taken before its environment started
            "end_time": ended,
            "origin": "AWS::Lambda",
            "resource_arn": spec.arn,
            "aws": {"request_id": result.request_id},
        }
        if trace.upstream_parent:
            service_segment["parent_id"] = trace.upstream_parent
        if trace.links:
            service_segment["links"] = trace.links
        annotations = {key: value for key, value in (notes or {}).items() if value is not None}
        if annotations:
            service_segment["annotations"] = annotations
        subsegments = []
        if result.init_ms is not None:
            initialised = started + result.init_ms / 1000
            subsegments.append(
                {"id": xray.new_segment_id(), "name": "Init", "start_time": started, "end_time": initialised}
            )
        function_segment: dict[str, Any] = {
            "name": spec.name,
            "id": trace.function_id,
            "trace_id": root,
            "parent_id": trace.service_id,
            "start_time": started,
            "end_time": ended,
            "origin": "AWS::Lambda::Function",
            "resource_arn": spec.arn,
            "aws": {"function_arn": spec.arn, "account_id": spec.account, "request_id": result.request_id},
            "subsegments": subsegments + sorted(trace.calls, key=lambda c: c["start_time"]),
        }
        if result.function_error:
            function_segment["fault"] = True
            function_segment["cause"] = {"exceptions": [_exception_of(result)]}
        self.store.put(service_segment, owner=spec.name)
        self.store.put(function_segment, owner=spec.name)

    def filtered(self, function_arn: str, writer: str, event_name: str, table: str) -> None:
        """A stream record an event-source mapping's filter dropped, told in the trace of the
        write that made it (AWS records nothing for it)."""
        name = function_arn.rsplit(":function:", 1)[-1].split(":", 1)[0]
        annotations = {"emulator_filtered": event_name, "emulator_source": table}
        self._tell(writer, name, "emulator::EventSourceMapping", annotations)

    def dead_lettered(self, dead_letter_queue: str, header_text: str, receives: int) -> None:
        """A message SQS moved to its dead-letter queue, told in the sender's trace (SQS records none)."""
        annotations = {"emulator_dead_lettered": receives}
        self._tell(header_text, dead_letter_queue, "emulator::SQS::DeadLetterQueue", annotations)

    def _tell(self, header_text: str, name: str, origin: str, annotations: dict[str, Any]) -> None:
        """A segment of the emulator's own, an instant long, under the segment that caused it, in
        a trace that was sampled; owned by the resource it names."""
        header = TraceHeader.parse(header_text)
        if header is None or header.sampled is False:
            return
        now = time.time()
        segment = {
            "name": name,
            "id": xray.new_segment_id(),
            "trace_id": header.root,
            "start_time": now,
            "end_time": now,
            "origin": origin,
            "annotations": annotations,
        }
        if header.parent:
            segment["parent_id"] = header.parent
        self.store.put(segment, owner=name)

    def close(self, trace: InvocationTrace) -> None:
        """The handler has ended (or could not start): calls under it are no longer recorded."""
        with self._lock:
            opened = self._open.pop(trace.function_id, None)
        if opened is not None:
            trace.calls = opened

    # ---- the handler's calls ---------------------------------------------------------

    def traced_call(self, environ: dict[str, Any]) -> str | None:
        """The function segment an incoming request was made under, if it is open."""
        header = TraceHeader.parse(environ.get(WSGI_HEADER))
        if header is None or header.parent is None:
            return None
        with self._lock:
            return header.parent if header.parent in self._open else None

    def record_call(self, parent: str, environ: dict[str, Any], body: bytes, respond: Callable) -> Callable:
        """A ``start_response`` that records the call's subsegment under ``parent`` when answered."""
        scope = sigv4.credential_scope(environ)
        service = scope.service if scope else ""
        started = time.time()

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            code = int(status.split(" ", 1)[0])
            subsegment: dict[str, Any] = {
                "id": xray.new_segment_id(),
                "name": xray.SERVICE_NAMES.get(service, service or "remote"),
                "start_time": started,
                "end_time": time.time(),
                "namespace": "aws",
                "http": {"response": {"status": code}},
                "aws": _call_fields(service, environ, body),
                "metadata": {EMULATOR_METADATA: {"recorded_by": _RECORDED_BY}},
            }
            if code == 429:
                subsegment["throttle"] = subsegment["error"] = True
            elif 400 <= code < 500:
                subsegment["error"] = True
            elif code >= 500:
                subsegment["fault"] = True
            error_type = next((v for k, v in headers if k.lower() == "x-amzn-errortype"), None)
            if error_type:
                subsegment["cause"] = {"exceptions": [{"type": error_type.split(":", 1)[0]}]}
            with self._lock:
                calls = self._open.get(parent)
                if calls is not None:
                    calls.append(subsegment)
            return respond(status, headers, exc_info) if exc_info is not None else respond(status, headers)

        return start_response


# "Each trace segment can be linked to up to 20 traces":
# https://docs.aws.amazon.com/xray/latest/devguide/xray-tracelinking.html
MAX_LINKS_PER_SEGMENT = 20


def _links(headers: list[str]) -> list[dict[str, str]]:
    """The links of an invocation to the traces of the messages it handles, each trace once, in
    X-Ray's span-link form (a trace id, and the segment that sent the message when known)."""
    links: list[dict[str, str]] = []
    for text in headers:
        header = TraceHeader.parse(text)
        if header is None or any(link["trace_id"] == header.root for link in links):
            continue
        links.append({"trace_id": header.root, **({"id": header.parent} if header.parent else {})})
    return links[:MAX_LINKS_PER_SEGMENT]


def _exception_of(result: Invocation) -> dict[str, Any]:
    try:
        payload = json.loads(result.payload)
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    return {
        "id": xray.new_segment_id(),
        "type": str(payload.get("errorType", result.status)),
        "message": str(payload.get("errorMessage", ""))[:250],
    }


def _call_fields(service: str, environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The ``aws`` fields the X-Ray SDK records for a call: the operation and the resource."""
    fields: dict[str, Any] = {}
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    document: dict[str, Any] = {}
    if body[:1] == b"{":
        try:
            document = json.loads(body)
        except ValueError:
            document = {}
    form = dict(parse_qsl(body.decode("utf-8", "replace"))) if service in ("sns", "sqs") and not target else {}
    if target:
        fields["operation"] = target.rsplit(".", 1)[-1]
    elif form.get("Action"):
        fields["operation"] = form["Action"]
    if service == "s3":
        fields.update(_s3_fields(environ))
    tables = list(document.get("RequestItems") or {})  # BatchWriteItem, BatchGetItem: tables by name
    if len(tables) == 1:
        fields["table_name"] = tables[0]
    for name, key in xray.RESOURCE_FIELDS.items():
        value = document.get(name) or form.get(name)
        if value and name not in ("Bucket", "Key", "FunctionName"):  # S3's and Lambda's are in the path
            fields[key] = value
    if service == "lambda":
        fields["operation"] = "Invoke" if environ.get("PATH_INFO", "").endswith("/invocations") else "Lambda"
        fields["function_name"] = unquote(environ.get("PATH_INFO", "").split("/functions/", 1)[-1].split("/", 1)[0])
    return fields


def _s3_fields(environ: dict[str, Any]) -> dict[str, Any]:
    path = unquote(environ.get("PATH_INFO", "")).lstrip("/")
    bucket, _, key = path.partition("/")
    method = environ.get("REQUEST_METHOD", "GET")
    query = environ.get("QUERY_STRING", "")
    if method == "PUT" and environ.get("HTTP_X_AMZ_COPY_SOURCE"):
        operation = "CopyObject"
    elif key:
        operation = {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(
            method, method
        )
    else:
        operation = (
            ("ListObjectsV2" if "list-type=2" in query else "ListObjects") if method == "GET" else f"{method}Bucket"
        )
    fields: dict[str, Any] = {"operation": operation, "bucket_name": bucket}
    if key:
        fields["key"] = key
    return fields
