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
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from workshop.aws.errors import AwsError, status_line
from workshop.emulator.moto_adapters import apigateway as moto_apigateway
from workshop.emulator.ports import GatewayService

USER_REQUEST = re.compile(r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$")
LAMBDA_URI = re.compile(r"^arn:aws:apigateway:[^:]+:lambda:path/2015-03-31/functions/(?P<function>.+)/invocations$")


def is_user_request(environ: dict[str, Any]) -> bool:
    return bool(USER_REQUEST.match(environ.get("PATH_INFO", "")))


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{") and part.endswith("+}"):
            pattern += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            pattern += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}/?$")


def match_route(routes: list[moto_apigateway.ApiRoute], path: str) -> tuple[Any, dict[str, str]] | None:
    """The most specific resource for a path: literal segments beat variables beat greedy ones."""
    candidates = []
    for route in routes:
        found = _template_regex(route.path).match(path)
        if found:
            rank = (route.path.count("+}"), route.path.count("{"), -len(route.path))
            candidates.append((rank, route, {k: unquote(v) for k, v in found.groupdict().items()}))
    if not candidates:
        return None
    _, route, parameters = min(candidates, key=lambda c: c[0])
    return route, parameters


def handle(environ: dict[str, Any], start_response: Callable, service: GatewayService) -> Iterable[bytes]:
    match = USER_REQUEST.match(environ["PATH_INFO"])
    api_id, stage, path = match.group("api"), match.group("stage"), match.group("path") or "/"
    found = moto_apigateway.rest_api_routes(api_id)
    if found is None or stage not in found[1]:
        return _missing_route().json_response(start_response)
    region, _, routes = found
    routed = match_route(routes, path)
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
        spec = service.resolve(region, function.group("function"))
    except LookupError:
        return _internal_error(500).json_response(start_response)
    event = proxy_event(environ, api_id, stage, route, path, path_parameters, service.account_id)
    result = service.invoke(spec, json.dumps(event).encode())
    if result.function_error:
        return _internal_error(502).json_response(start_response)
    return _proxy_response(start_response, result.payload)


def proxy_event(
    environ: dict[str, Any],
    api_id: str,
    stage: str,
    route: Any,
    path: str,
    path_parameters: dict[str, str],
    account_id: str,
) -> dict[str, Any]:
    """AWS's REST API proxy event (payload format 1.0)."""
    headers, multi_headers = {}, {}
    for key, value in environ.items():
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = "-".join(word.capitalize() for word in key.removeprefix("HTTP_").split("_"))
            if value:
                headers[name] = value
                multi_headers[name] = [value]
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
    request_id = str(uuid.uuid4())
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
            "extendedRequestId": request_id[:16],
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}",
            "accountId": account_id,
            "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "stage": stage,
            "domainPrefix": api_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": request_id,
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
            "apiId": api_id,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def _proxy_response(start_response: Callable, payload: bytes) -> Iterable[bytes]:
    """The function's answer as HTTP; a malformed answer is API Gateway's 502."""
    try:
        answer = json.loads(payload)
        status = int(answer["statusCode"]) if isinstance(answer, dict) else None
    except (ValueError, KeyError, TypeError):
        status = None
    if status is None or not 100 <= status <= 599:
        return _internal_error(502).json_response(start_response)
    body = answer.get("body") or ""
    data = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode()
    headers = [(k, str(v)) for k, v in (answer.get("headers") or {}).items()]
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers += [(name, str(v)) for v in values]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"] + [("Content-Length", str(len(data)))]
    start_response(status_line(status), headers)
    return [data]


def _missing_route() -> AwsError:
    """API Gateway's answer for a stage, resource or method that is not deployed."""
    return AwsError("ForbiddenException", "Missing Authentication Token", 403)


def _internal_error(status: int, emulator_note: str | None = None) -> AwsError:
    """A 500 (integration not usable) or 502 (the function failed or answered no proxy
    response). It names no error type: x-amzn-ErrorType is sent empty, as it always was."""
    return AwsError("", "Internal server error", status, emulator_note=emulator_note)
