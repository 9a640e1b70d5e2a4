"""The kit's own endpoints behind the instructor's token when the emulator listens beyond loopback.

On a laptop the emulator listens on 127.0.0.1 and its admin routes are the learner's own. Served
to a room (``serve --host 0.0.0.0``), anyone on the network reaches them: moto's ``/moto-api/*``
(reset wipes every participant, ``data.json`` dumps everything), ``/_workshop/shutdown``, the
emulator's stats, changing the room-wide teaching switches and clearing another's webhook channel.
Those need the token the server prints once at start and keeps in an owner-only file of its state
directory; participants' connection lines never carry it. What a participant's own work needs stays
open: health, reading the switches, setting their own (:mod:`workshop.emulator.scopes`), posting to
and reading a webhook channel, clearing their own, and every AWS API.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from workshop.aws.errors import status_line
from workshop.core.paths import write_private
from workshop.emulator.scopes import caller_scope, owns

__all__ = ["HEADER", "AdminGuard", "is_loopback", "write_token"]

HEADER = "X-Workshop-Admin-Token"
_WSGI_HEADER = "HTTP_" + HEADER.upper().replace("-", "_")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (the address the server binds) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def write_token(path: Path) -> str:
    """A new token, written readable by this user alone (created with that mode, never widened)."""
    token = secrets.token_urlsafe(24)
    write_private(path, (token + "\n").encode())
    return token


class AdminGuard:
    """Answers 403 for a guarded route without the token; ``token=None`` guards nothing (loopback)."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    @property
    def shared(self) -> bool:
        """Whether the emulator serves a network (a class), not one learner on loopback."""
        return self._token is not None

    def refuse(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes] | None:
        if self._token is None or not _guarded(environ):
            return None
        given = environ.get(_WSGI_HEADER, "")
        if given and hmac.compare_digest(given.encode(), self._token.encode()):
            return None
        reason = (
            f"this endpoint needs the instructor's token in the {HEADER} header: the emulator serves a "
            "network, and this route changes or reveals every participant's work"
        )
        body = json.dumps({"error": reason}).encode()  # the kit's admin answer, as app.py's routes give
        start_response(status_line(403), [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def _guarded(environ: dict[str, Any]) -> bool:
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
    if path.startswith("/moto-api"):
        return True
    if not path.startswith("/_workshop/"):
        return False  # AWS's APIs
    route = path.removeprefix("/_workshop/")
    if route in ("health", "idle"):
        return False
    if route == "chaos":  # a participant's own switches are theirs to set; the room's are not
        return method != "GET" and caller_scope(environ) is None
    if route.startswith("webhooks/"):  # posting and reading are open; clearing, one's own channel only
        scope = caller_scope(environ)
        return method == "DELETE" and (scope is None or not owns(scope, route.removeprefix("webhooks/")))
    return True  # shutdown, stats, and any route added later unless it is opened here
