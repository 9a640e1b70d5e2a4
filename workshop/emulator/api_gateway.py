"""API Gateway REST APIs with Lambda proxy integrations (AWS_PROXY), served by the emulator.

``http://127.0.0.1:<port>/restapis/<api-id>/<stage>/_user_request_/<path>`` (LocalStack's
form) finds the deployed resource and method, hands the function AWS's proxy event
(method, path, headers, query, path parameters, body, requestContext) and turns its
answer (statusCode, headers, body, isBase64Encoded) into the HTTP response, as API
Gateway does — including the 403 of an unknown route and the 502 of a failed function.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from workshop.aws import xray
from workshop.aws.errors import AwsError, status_line
from workshop.emulator.moto_adapters import apigateway as moto_apigateway
from workshop.emulator.moto_adapters import server as moto_server
from workshop.emulator.ports import GatewayService

USER_REQUEST = re.compile(r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$")
LAMBDA_URI = re.compile(r"^arn:aws:apigateway:[^:]+:lambda:path/2015-03-31/functions/(?P<function>.+)/invocations$")


def is_user_request(environ: dict[str, Any]) -> bool:
    return bool(USER_REQUEST.match(environ.get("PATH_INFO", "")))


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{") and part.endswith("+}"):
            pattern += f"(?P<{part[1:-2]}>.+?)"  # lazy: a trailing slash is not the parameter's
        elif part.startswith("{"):
            pattern += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}/?$")


def match_route(routes: list[moto_apigateway.ApiRoute], path: str) -> tuple[Any, dict[str, str]] | None:
    """The most specific resource for a path: literal segments beat variables beat greedy ones.
    Parameters keep the path's percent-encoding, as API Gateway hands them on (``%2B`` stays)."""
    candidates = []
    for route in routes:
        found = _template_regex(route.path).match(path)
        if found:
            rank = (route.path.count("+}"), route.path.count("{"), -len(route.path))
            candidates.append((rank, route, dict(found.groupdict())))
    if not candidates:
        return None
    _, route, parameters = min(candidates, key=lambda c: c[0])
    return route, parameters


def _raw_path(environ: dict[str, Any], decoded: str) -> str:
    """The resource path as the client sent it, still percent-encoded (WSGI's PATH_INFO is decoded)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        return decoded
    raw = raw.split("?", 1)[0]
    if "://" in raw:  # an absolute request target, as a proxy sends
        raw = urlsplit(raw).path
    return raw.partition("_user_request_")[2] or "/"


def handle(environ: dict[str, Any], start_response: Callable, service: GatewayService) -> Iterable[bytes]:
    match = USER_REQUEST.match(environ["PATH_INFO"])
    api_id, stage = match.group("api"), match.group("stage")
    path = _raw_path(environ, match.group("path") or "/")
    request = _RequestIds.new(environ)
    start_response = request.answering(start_response)
    api = moto_apigateway.rest_api_routes(api_id)
    if api is None or stage not in api.stages:
        return _missing_route().json_response(start_response)
    routed = match_route(api.routes, path)
    method = environ.get("REQUEST_METHOD", "GET")
    integration = routed and (routed[0].methods.get(method) or routed[0].methods.get("ANY"))
    if not integration:
        return _missing_route().json_response(start_response)
    route, path_parameters = routed
    kind, uri = integration
    function = LAMBDA_URI.match(uri or "")
    if kind != "AWS_PROXY" or not function:
        note = "only Lambda proxy (AWS_PROXY) integrations are emulated"
        return _internal_error(500, note).json_response(start_response)
    try:
        spec = service.resolve(api.region, function.group("function"))
    except LookupError:
        return _internal_error(500).json_response(start_response)
    event = proxy_event(
        environ, api_id, stage, route, path, path_parameters, service.account_id, api.stages[stage], request
    )
    # a REST API passes its trace on to the function: https://docs.aws.amazon.com/xray/latest/devguide/xray-services-apigateway.html
    result = service.invoke(spec, json.dumps(event).encode(), trace=request.trace_id)
    if result.function_error:
        return _internal_error(502).json_response(start_response)
    binary = _accepts_binary(event["headers"] or {}, api.binary_media_types)
    return _proxy_response(start_response, result.payload, binary)


@dataclass(frozen=True)
class _RequestIds:
    """The ids API Gateway gives a request: in the event's requestContext and headers, and
    on every response (x-amzn-RequestId, x-amz-apigw-id, X-Amzn-Trace-Id)."""

    request_id: str
    extended_request_id: str
    trace_id: str

    @classmethod
    def new(cls, environ: dict[str, Any]) -> _RequestIds:
        # A client's trace header is carried on; otherwise API Gateway starts a trace
        # (X-Ray's format: https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader).
        sent = environ.get("HTTP_X_AMZN_TRACE_ID")
        trace = sent or f"Root={xray.new_trace_id()}"
        return cls(str(uuid.uuid4()), base64.b64encode(secrets.token_bytes(11)).decode(), trace)

    def answering(self, start_response: Callable) -> Callable:
        def with_ids(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            ids = [
                ("x-amzn-RequestId", self.request_id),
                ("x-amz-apigw-id", self.extended_request_id),
                ("X-Amzn-Trace-Id", self.trace_id),
            ]
            return start_response(status, list(headers) + ids, *args)

        return with_ids


# Not handed to the function: hop-by-hop headers API Gateway consumes itself.
_NOT_FORWARDED = {"connection", "content-length"}
# Passed as sent except these two, which arrive title-cased (recorded: "authorization" -> "Authorization").
_TITLE_CASED = {"authorization": "Authorization", "user-agent": "User-Agent"}


def _request_headers(environ: dict[str, Any], request: _RequestIds) -> list[tuple[str, str]]:
    """The headers as the function sees them: names as the client spelled them, plus the
    ones API Gateway adds (trace id, X-Forwarded-For/Port/Proto)."""
    sent = environ.get(moto_server.RAW_HEADERS)
    if sent is None:  # not served by the kit's request handler: WSGI's upper-cased names
        sent = [
            ("-".join(word.capitalize() for word in key.removeprefix("HTTP_").split("_")), value)
            for key, value in environ.items()
            if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")
        ]
    headers = []
    forwarded_for = []
    for name, value in sent:
        lower = name.lower()
        if lower in _NOT_FORWARDED or lower in ("x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id"):
            continue
        if lower == "x-forwarded-for":
            forwarded_for.append(value)
            continue
        headers.append((_TITLE_CASED.get(lower, name), value))
    forwarded_for.append(environ.get("REMOTE_ADDR", "127.0.0.1"))
    return headers + [
        ("X-Amzn-Trace-Id", request.trace_id),
        ("X-Forwarded-For", ", ".join(forwarded_for)),
        ("X-Forwarded-Port", str(environ.get("SERVER_PORT", ""))),
        ("X-Forwarded-Proto", environ.get("wsgi.url_scheme", "http")),
    ]


def proxy_event(
    environ: dict[str, Any],
    api_id: str,
    stage: str,
    route: Any,
    path: str,
    path_parameters: dict[str, str],
    account_id: str,
    deployment_id: str,
    request: _RequestIds,
) -> dict[str, Any]:
    """AWS's REST API proxy event (payload format 1.0)."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}  # a name sent twice in two casings is one header
    for name, value in _request_headers(environ, request):
        name = spelled.setdefault(name.lower(), name)
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body, encoded = (raw.decode("utf-8"), False) if raw else (None, False)
    except UnicodeDecodeError:
        body, encoded = base64.b64encode(raw).decode(), True
    now = datetime.now(UTC)
    method = environ.get("REQUEST_METHOD", "GET")
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": route.resource_id,
            "resourcePath": route.path,
            "httpMethod": method,
            "extendedRequestId": request.extended_request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}",
            "accountId": account_id,
            "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "stage": stage,
            "domainPrefix": api_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": request.request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": environ.get("REMOTE_ADDR", "127.0.0.1"),
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": environ.get("HTTP_USER_AGENT"),
                "user": None,
            },
            "domainName": environ.get("HTTP_HOST", "127.0.0.1"),
            "deploymentId": deployment_id,
            "apiId": api_id,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def _accepts_binary(headers: dict[str, str], binary_media_types: Iterable[str]) -> bool:
    """Whether the client's first Accept type is one of the API's binary media types: only then
    is a base64 body decoded (https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html)."""
    accept = next((v for k, v in headers.items() if k.lower() == "accept"), "")
    first = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return bool(first) and any(fnmatchcase(first, media.lower()) for media in binary_media_types)


# The output format's keys; any other makes the answer malformed, a 502
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-output-format).
PROXY_RESPONSE_KEYS = frozenset({"isBase64Encoded", "statusCode", "headers", "multiValueHeaders", "body"})


class _Malformed(ValueError):
    """The function's answer is no proxy response: API Gateway's 502."""


def _header_value(value: Any) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise _Malformed(value)
    return json.dumps(value) if isinstance(value, bool) else str(value)  # true, not Python's True


def _response_headers(answer: dict[str, Any]) -> list[tuple[str, str]]:
    """headers and multiValueHeaders as one list: a name in both keeps multiValueHeaders'
    spelling and values first, then the single value unless it is already one of them."""
    single, multi = answer.get("headers") or {}, answer.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise _Malformed(answer)
    merged: list[tuple[str, str]] = []
    in_multi = set()
    for name, values in multi.items():
        if not isinstance(values, list):
            raise _Malformed(values)
        rendered = [_header_value(v) for v in values]
        same = [v for k, v in single.items() if k.lower() == name.lower()]
        rendered += [_header_value(v) for v in same if _header_value(v) not in rendered]
        merged += [(name, v) for v in rendered]
        in_multi.add(name.lower())
    merged += [(k, _header_value(v)) for k, v in single.items() if k.lower() not in in_multi]
    return merged


def _proxy_response(start_response: Callable, payload: bytes, binary: bool) -> Iterable[bytes]:
    """The function's answer as HTTP; a malformed answer is API Gateway's 502."""
    try:
        answer = json.loads(payload)
        if not isinstance(answer, dict) or not set(answer) <= PROXY_RESPONSE_KEYS:
            raise _Malformed(answer)
        code = answer.get("statusCode")
        status = 200 if code is None else int(code)  # "201" is 201; no statusCode is a 200
        if isinstance(code, bool) or not 100 <= status <= 599:
            raise _Malformed(code)
        headers = _response_headers(answer)
    except (ValueError, TypeError):
        return _internal_error(502).json_response(start_response)
    body = answer.get("body") or ""
    data = base64.b64decode(body) if answer.get("isBase64Encoded") and binary else str(body).encode()
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"] + [("Content-Length", str(len(data)))]
    start_response(status_line(status), headers)
    return [data]


def _missing_route() -> AwsError:
    """API Gateway's answer for a stage, resource or method that is not deployed, its
    x-amzn-ErrorType as recorded (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html)."""
    return AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)


def _internal_error(status: int, emulator_note: str | None = None) -> AwsError:
    """A 500 (integration not usable) or 502 (the function failed or answered no proxy
    response), with the x-amzn-ErrorType real responses carry."""
    return AwsError("InternalServerErrorException", "Internal server error", status, emulator_note=emulator_note)
