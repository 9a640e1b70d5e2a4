"""X-Ray's API on the emulator, as far as the kit reads traces: PutTraceSegments,
GetTraceSummaries, BatchGetTraces and GetServiceGraph (https://docs.aws.amazon.com/xray/latest/api/).

The same boto3 code reads traces here and on a real account. Filter expressions are X-Ray's
syntax, in the subset the kit's helpers use (clauses joined by ``AND``): ``annotation.key = value``,
``annotation.key`` (set), ``service("name")``, ``service(id(name: "n", type: "t"))``, ``ok``,
``error``, ``fault``, ``throttle``; anything else is refused with a line saying so
(https://docs.aws.amazon.com/xray/latest/devguide/xray-console-filters.html).

On a shared emulator a participant reads and writes only their own segments: the gate hands the
caller's ``owns(name)`` in the request (``workshop.owns``), and every segment is stored with the
resource it describes or, when a participant sends it, their prefix.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from workshop.aws import sigv4, xray
from workshop.aws.errors import AwsError, status_line
from workshop.emulator.xray_store import BadSegment, TraceStore

__all__ = ["OWNS", "PARTICIPANT", "handle", "is_xray"]

OWNS = "workshop.owns"  # environ key: the gate's (name) -> bool for the caller, absent on a laptop
PARTICIPANT = "workshop.participant"  # environ key: the caller's prefix on a shared emulator
_ROUTES = {"/TraceSegments", "/TraceSummaries", "/Traces", "/ServiceGraph"}
_CLAUSE = re.compile(
    r"""^(?:
        annotation\.(?P<key>[A-Za-z0-9_]+)\s*(?:=\s*(?P<value>"[^"]*"|-?\d+(?:\.\d+)?|true|false))?
      | service\(\s*(?:"(?P<service>[^"]*)"|id\(\s*name:\s*"(?P<id_name>[^"]*)"\s*(?:,\s*type:\s*"(?P<id_type>[^"]*)"\s*)?\))\s*\)
      | (?P<flag>ok|error|fault|throttle)
    )$""",
    re.VERBOSE,
)


def is_xray(environ: dict[str, Any]) -> bool:
    scope = sigv4.credential_scope(environ)
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and environ.get("PATH_INFO") in _ROUTES
        and (scope is None or scope.service == "xray")
    )


def handle(environ: dict[str, Any], start_response: Callable, store: TraceStore) -> Iterable[bytes]:
    owns = environ.get(OWNS)
    visible = (lambda owner: owner is not None and owns(owner)) if owns else (lambda owner: True)
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}")
        if not isinstance(request, dict):
            raise ValueError("the body is not a JSON object")
    except ValueError as error:
        return _error(start_response, "InvalidRequestException", f"Could not read the request: {error}")
    route = environ["PATH_INFO"]
    try:
        if route == "/TraceSegments":
            answer = _put(request, store, environ.get(PARTICIPANT))
        elif route == "/Traces":
            answer = _batch_get(request, store, visible)
        elif route == "/TraceSummaries":
            answer = _summaries(request, store, visible)
        else:
            start, end = _time_range(request)
            answer = {"StartTime": start, "EndTime": end, "Services": store.service_graph(start, end, visible)}
            answer["ContainsOldGroupVersions"] = False
    except AwsError as error:
        return error.json_response(start_response)
    body = json.dumps(answer).encode()
    start_response(status_line(200), [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _put(request: dict[str, Any], store: TraceStore, participant: str | None) -> dict[str, Any]:
    documents = request.get("TraceSegmentDocuments")
    if not isinstance(documents, list):
        raise AwsError("InvalidRequestException", "TraceSegmentDocuments is required", 400)
    unprocessed = []
    for text in documents:
        try:
            document = json.loads(text)
            if not isinstance(document, dict):
                raise ValueError("not an object")
        except (TypeError, ValueError):
            unprocessed.append({"ErrorCode": "JSONFormatError", "Message": "Bad JSON data"})
            continue
        try:
            # a participant's own segments are theirs; on a laptop, the one learner's
            store.put(document, owner=f"{participant}-segments" if participant else None)
        except BadSegment as bad:
            unprocessed.append({"Id": bad.segment_id, "ErrorCode": bad.code, "Message": str(bad)})
    return {"UnprocessedTraceSegments": unprocessed}


def _batch_get(request: dict[str, Any], store: TraceStore, visible: Callable) -> dict[str, Any]:
    trace_ids = request.get("TraceIds")
    if not isinstance(trace_ids, list) or not trace_ids:
        raise AwsError("InvalidRequestException", "TraceIds is required", 400)
    if len(trace_ids) > xray.MAX_TRACE_IDS_PER_BATCH:
        raise AwsError(
            "InvalidRequestException",
            f"1 validation error detected: Value at 'traceIds' failed to satisfy constraint: "
            f"Member must have length less than or equal to {xray.MAX_TRACE_IDS_PER_BATCH}",
            400,
        )
    traces, unprocessed = store.traces([str(t) for t in trace_ids], visible)
    for trace in traces:
        for segment in trace["Segments"]:
            segment["Document"] = json.dumps(segment["Document"])
    return {"Traces": traces, "UnprocessedTraceIds": unprocessed}


def _summaries(request: dict[str, Any], store: TraceStore, visible: Callable) -> dict[str, Any]:
    start, end = _time_range(request)
    matches = _filter(request.get("FilterExpression"))
    summaries, processed = store.summaries(start, end, matches, visible)
    return {"TraceSummaries": summaries, "ApproximateTime": time.time(), "TracesProcessedCount": processed}


def _time_range(request: dict[str, Any]) -> tuple[float, float]:
    try:
        start, end = float(request["StartTime"]), float(request["EndTime"])
    except (KeyError, TypeError, ValueError):
        raise AwsError("InvalidRequestException", "StartTime and EndTime are required", 400) from None
    if end < start:
        raise AwsError("InvalidRequestException", "EndTime must be after StartTime", 400)
    return start, end


def _filter(expression: Any) -> Callable[[list[dict[str, Any]]], bool]:
    """X-Ray's filter expression, in the subset the module's docstring names."""
    if not expression:
        return lambda segments: True
    tests = []
    for clause in re.split(r"\s+AND\s+", str(expression).strip()):
        matched = _CLAUSE.match(clause.strip())
        if matched is None:
            raise AwsError(
                "InvalidRequestException",
                f"The filter expression {clause!r} is not supported",
                400,
                emulator_note="the emulator reads annotation.key = value, service(...), ok, error, fault and "
                "throttle, joined by AND; a real account reads every X-Ray filter expression",
            )
        tests.append(_test(matched.groupdict()))
    return lambda segments: all(test(segments) for test in tests)


def _test(parts: dict[str, str | None]) -> Callable[[list[dict[str, Any]]], bool]:
    def entities(segments: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        return (entity for segment in segments for entity in xray.entities(segment))

    if parts["key"]:
        key, text = parts["key"], parts["value"]
        if text is None:
            return lambda segments: any(key in (e.get("annotations") or {}) for e in entities(segments))
        wanted: Any = text.strip('"') if text.startswith('"') else {"true": True, "false": False}.get(text, text)
        if isinstance(wanted, str) and not text.startswith('"'):
            wanted = float(wanted)
        return lambda segments: any(
            key in (e.get("annotations") or {}) and e["annotations"][key] == wanted for e in entities(segments)
        )
    if parts["flag"]:
        flag = parts["flag"]
        if flag == "ok":
            return lambda segments: (
                not any(e.get(f) for e in entities(segments) for f in ("error", "fault", "throttle"))
            )
        return lambda segments: any(e.get(flag) for e in entities(segments))
    name, kind = parts["service"] or parts["id_name"], parts["id_type"]
    return lambda segments: any(s["name"] == name and (kind is None or s.get("origin") == kind) for s in segments)


def _error(start_response: Callable, code: str, message: str) -> list[bytes]:
    return AwsError(code, message, 400).json_response(start_response)
