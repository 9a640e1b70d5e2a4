"""The Lambda Invoke API, answered by the emulator's runtime instead of moto's Docker.

``POST /2015-03-31/functions/<name>/invocations`` with the standard headers:
X-Amz-Invocation-Type (RequestResponse, Event, DryRun), X-Amz-Log-Type (Tail),
X-Amz-Client-Context; query ``Qualifier``. Answers as AWS does: 200 with the payload
(X-Amz-Function-Error: Unhandled on a handler error), 202 for Event, 204 for DryRun.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, unquote

from workshop.aws import filter_patterns, refusals, sigv4
from workshop.aws.errors import AwsError, status_line
from workshop.emulator.moto_adapters import event_source_mappings as moto_mappings
from workshop.emulator.ports import InvokeApiService

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
MAPPING_PATH = re.compile(r"^/2015-03-31/event-source-mappings/?(?P<uuid>[^/]*)/?$")
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024


def is_invoke(environ: dict[str, Any]) -> bool:
    return environ.get("REQUEST_METHOD") == "POST" and bool(INVOKE_PATH.match(environ.get("PATH_INFO", "")))


def is_mapping_change(environ: dict[str, Any]) -> bool:
    method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
    match = MAPPING_PATH.match(path)
    return bool(match) and ((method == "POST" and not match.group("uuid")) or (method == "PUT" and match.group("uuid")))


def refuse_invalid_mapping(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes] | None:
    """Refuse a mapping change AWS would refuse, before moto stores any of it; otherwise leave
    the body for moto. (moto checked little, and an update refused part-way kept its first fields.)"""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads the request after us
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(request, dict):
        return None
    uuid = MAPPING_PATH.match(environ.get("PATH_INFO", "")).group("uuid")
    source_arn = request.get("EventSourceArn")
    if uuid:
        existing = moto_mappings.event_source_mapping(request_region(environ), uuid)
        if existing is None:  # moto answers 200 with an empty body
            return _error(
                start_response, 404, "ResourceNotFoundException", "The resource you requested does not exist."
            )
        source_arn = existing.get("EventSourceArn")
        # BatchSize and the batching window are judged together, whichever of them changes
        request = {
            **{k: existing[k] for k in ("BatchSize", "MaximumBatchingWindowInSeconds") if existing.get(k) is not None},
            **request,
        }
    refusal = refusals.event_source_mapping(request, source_arn, creating=not uuid)
    if refusal is not None:
        return _error(start_response, refusal.status, refusal.code, refusal.message)
    criteria = request.get("FilterCriteria")
    if not criteria:
        return None
    try:
        filter_patterns.parse_filter_criteria(criteria)
    except filter_patterns.InvalidFilterPattern as error:
        return _error(start_response, 400, "InvalidParameterValueException", str(error))
    return None


def request_region(environ: dict[str, Any], default: str = "us-east-1") -> str:
    """The region a SigV4-signed request was signed for."""
    scope = sigv4.credential_scope(environ)
    return scope.region if scope else default


def split_qualifier(name: str, qualifier: str | None) -> tuple[str, str | None]:
    """Accept a name, ``name:qualifier``, or a (partial) ARN with or without a qualifier."""
    parts = name.split(":")
    if name.startswith("arn:") and len(parts) == 8:
        return ":".join(parts[:7]), qualifier or parts[7]
    if not name.startswith("arn:") and len(parts) == 2:
        return parts[0], qualifier or parts[1]
    return name, qualifier


def handle_invoke(environ: dict[str, Any], start_response: Callable, service: InvokeApiService) -> Iterable[bytes]:
    """Answer one Invoke request."""
    name = unquote(INVOKE_PATH.match(environ["PATH_INFO"]).group("name"))
    query = parse_qs(environ.get("QUERY_STRING", ""))
    name, qualifier = split_qualifier(name, (query.get("Qualifier") or [None])[0])
    region = request_region(environ)
    invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    payload = environ["wsgi.input"].read(length) if length else b""

    try:
        spec = service.resolve(region, name, qualifier)
    except LookupError:
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{service.account_id}:function:{name}"
        return _error(start_response, 404, "ResourceNotFoundException", f"Function not found: {arn}")
    if invocation_type not in ("RequestResponse", "Event", "DryRun"):
        return _error(
            start_response,
            400,
            "InvalidParameterValueException",
            f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to satisfy "
            "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
        )
    limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
    if len(payload) > limit:
        return _error(
            start_response,
            413,
            "RequestEntityTooLargeException",
            f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
        )
    if payload:
        try:
            json.loads(payload)
        except ValueError:
            return _error(
                start_response,
                400,
                "InvalidRequestContentException",
                "Could not parse request body into json: Could not parse payload into json",
            )

    headers = [("X-Amz-Executed-Version", spec.version)]
    if invocation_type == "DryRun":
        start_response(status_line(204), headers)
        return [b""]
    trace = environ.get("HTTP_X_AMZN_TRACE_ID")  # Lambda continues the caller's trace, either way
    if invocation_type == "Event":
        request_id = service.submit(region, spec.arn, payload, trace=trace)
        start_response(status_line(202), headers + [("x-amzn-RequestId", request_id), ("Content-Length", "0")])
        return [b""]

    client_context = environ.get("HTTP_X_AMZ_CLIENT_CONTEXT")
    if client_context:
        try:
            client_context = json.loads(base64.b64decode(client_context))
        except ValueError:
            client_context = None
    result = service.invoke(spec, payload, client_context=client_context, trace=trace)
    headers += [
        ("x-amzn-RequestId", result.request_id),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(result.payload))),
    ]
    if result.function_error:
        headers.append(("X-Amz-Function-Error", "Unhandled"))
    if environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail":
        headers.append(("X-Amz-Log-Result", result.log_tail()))
    start_response(status_line(200), headers)
    return [result.payload]


def _error(start_response: Callable, status: int, error_type: str, message: str) -> list[bytes]:
    """Lambda's error answer: the type in x-amzn-ErrorType, a caller's mistake in the body."""
    return AwsError(error_type, message, status, fields={"Type": "User"}).json_response(start_response)
