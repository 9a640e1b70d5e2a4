"""Calling a deployed REST API the same way on every backend: its invoke URL and a JSON POST.

API Gateway serves a stage at ``https://<api-id>.execute-api.<region>.amazonaws.com/<stage>``;
local emulators (the embedded one, LocalStack) serve it under their endpoint at
``/restapis/<api-id>/<stage>/_user_request_``. A notebook asks for the URL and never spells
either form out.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from workshop.core.backend import Backend


def invoke_url(backend: Backend, api_id: str, stage: str) -> str:
    """The base URL of a deployed stage; append the resource path (``/jobs``)."""
    if backend.is_local:
        return f"{backend.endpoint_url}/restapis/{api_id}/{stage}/_user_request_"
    return f"https://{api_id}.execute-api.{backend.region}.amazonaws.com/{stage}"


def post_json(url: str, body: Any, timeout: float = 30, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST ``body`` (JSON-encoded unless already bytes or str) and return (status, decoded answer):
    an HTTP error status is an answer to look at, not an exception. ``headers``: more to send."""
    data = body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
    sent = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method="POST", headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")
