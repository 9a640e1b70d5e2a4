"""The emulator's WSGI application: the kit's admin routes, then moto for every AWS API."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from workshop import __version__
from workshop.aws.errors import status_line
from workshop.core.launcher import IDENTITY
from workshop.emulator import api_gateway, s3_guard, tracing, xray_api
from workshop.emulator.admin_guard import AdminGuard
from workshop.emulator.functions import invoke_api as lambda_api
from workshop.emulator.moto_adapters import server as moto_server
from workshop.emulator.participant_gate import ParticipantGate
from workshop.emulator.ports import AdminService
from workshop.emulator.scopes import caller_scope

ADMIN_PREFIX = "/_workshop/"


class EmulatorApp:
    """Routes ``/_workshop/*`` to the kit's admin API and everything else to moto."""

    def __init__(
        self,
        service: AdminService,
        on_shutdown: Callable[[], None] | None = None,
        on_request: Callable[[], None] | None = None,
        guard: AdminGuard | None = None,
        gate: ParticipantGate | None = None,
    ) -> None:
        self._moto = moto_server.moto_wsgi_app()
        self._service = service
        self._started = time.time()
        self._on_shutdown = on_shutdown
        self._on_request = on_request  # an AWS request may change state: the snapshotter is told
        self._guard = guard or AdminGuard(None)
        self._gate = gate  # a shared emulator's: who calls, and what they may reach

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if self._gate is not None and environ.get("PATH_INFO", "").startswith(ADMIN_PREFIX):
            self._gate.verify_participant(environ)  # before the guard, which trusts the name it carries
        refused = self._guard.refuse(environ, start_response)
        if refused is not None:
            return refused
        path = environ.get("PATH_INFO", "")
        if path.startswith(ADMIN_PREFIX):
            return self._admin(path[len(ADMIN_PREFIX) :], environ, start_response)
        if self._on_request:
            self._on_request()
        if tracing.WSGI_HEADER in environ:
            start_response = self._traced(environ, start_response)
        if api_gateway.is_user_request(environ):
            return api_gateway.handle(environ, start_response, self._service)  # public, as an API's URL is
        if self._gate is not None and not path.startswith("/moto-api"):  # moto's own: the guard's token
            return self._gate(environ, start_response, self._aws)
        return self._aws(environ, start_response)

    def _traced(self, environ: dict[str, Any], start_response: Callable) -> Callable:
        """A call made by a traced handler (its header names a running function segment) is
        recorded as a subsegment of that invocation when answered."""
        parent = self._service.tracing.traced_call(environ)
        if parent is None or xray_api.is_xray(environ):
            return start_response
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return self._service.tracing.record_call(parent, environ, body, start_response)

    def _aws(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if xray_api.is_xray(environ):
            return xray_api.handle(environ, start_response, self._service.traces)
        if lambda_api.is_invoke(environ):
            return lambda_api.handle_invoke(environ, start_response, self._service)
        if s3_guard.is_s3_request(environ):
            return s3_guard.handle(environ, start_response, self._moto, lambda_api.request_region(environ))
        if lambda_api.is_mapping_change(environ):
            refusal = lambda_api.refuse_invalid_mapping(environ, start_response)
            if refusal is not None:
                return refusal
        return self._moto(environ, start_response)

    def _admin(self, route: str, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if route == "health" and method == "GET":
            return _json(start_response, 200, self.health())
        if route.startswith("webhooks/"):
            return self._webhook(route.removeprefix("webhooks/"), method, environ, start_response)
        if route == "chaos":
            return self._chaos(method, environ, start_response)
        if route == "idle" and method == "GET":
            return _json(start_response, 200, {"idle": self._service.stats()["idle"]})
        if route == "stats" and method == "GET":
            return _json(start_response, 200, self._service.stats())
        if route == "shutdown" and method == "POST" and self._on_shutdown:
            # Answer first, then stop: shutting down inside the request would deadlock.
            threading.Timer(0.05, self._on_shutdown).start()
            return _json(start_response, 200, {"stopping": True})
        return _json(start_response, 404, {"error": f"no admin route {method} /_workshop/{route}"})

    def _chaos(self, method: str, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        # A class's participant sets and reads their own switches; a laptop's one learner, the room's.
        scope = caller_scope(environ) if self._guard.shared else None
        switches = self._service.chaos
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                switches.update(json.loads(environ["wsgi.input"].read(length) or b"{}"), scope)
            except (ValueError, TypeError) as error:
                return _json(start_response, 400, {"error": str(error)})
        return _json(start_response, 200, switches.view(scope))

    def _webhook(self, channel: str, method: str, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        inbox = self._service.webhooks
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                payload = json.loads(environ["wsgi.input"].read(length) or b"null")
            except ValueError:
                payload = None
            status, answer = inbox.post(channel, payload)
            body = answer.encode()
            start_response(status_line(status), [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
            return [body]
        if method == "DELETE":
            inbox.clear(channel)
            return _json(start_response, 200, {"cleared": channel})
        return _json(start_response, 200, {"channel": channel, "messages": inbox.messages(channel)})

    def health(self) -> dict[str, Any]:
        return {
            "service": IDENTITY,
            "version": __version__,
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - self._started, 3),
        }


def _json(start_response: Callable, status: int, body: dict[str, Any]) -> list[bytes]:
    """An admin route's answer (the kit's own API, not AWS's: errors are ``{"error": ...}``)."""
    payload = json.dumps(body).encode()
    start_response(
        status_line(status),
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]
