"""HTTP/1.1 connections the emulator keeps open from one request to the next.

werkzeug's development server answers every request with ``Connection: close`` (it cannot tell
where a request's body ends, so it reads whatever follows the response and throws it away). Every
boto3 call then opens a TCP connection and the server starts a thread for it: a third of a small
call's cost on both sides. This handler knows where each body ends (its ``Content-Length``), lets
the application read no further, reads the rest of it after the response, and keeps the
connection for the client's next call, as AWS's endpoints do. A request whose end it cannot know
(a chunked body) still closes its connection."""

from __future__ import annotations

import socket
import traceback
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import InternalServerError

from workshop.emulator.moto_adapters.server import RequestHandler

# An idle connection's thread ends after this; the client sees the close and opens a new one.
IDLE_SECONDS = 60
# A body the application left unread is read to its end to reach the next request, up to this;
# past it the connection is closed instead.
DRAIN_LIMIT = 1 << 20
_NO_BODY_STATUSES = {204, 304}
_DROPPED = (ConnectionError, TimeoutError)


class BoundedBody:
    """The request body as ``wsgi.input``: at most ``length`` bytes, so nothing reads into the
    next request on the connection (a plain ``read()`` would otherwise wait for the client)."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self.remaining = length

    def read(self, size: int | None = -1) -> bytes:
        return self._take(self._stream.read, size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._take(self._stream.readline, size)

    def _take(self, reader: Any, size: int | None) -> bytes:
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        data = reader(size) if size else b""
        self.remaining -= len(data)
        return data

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class KeepAliveRequestHandler(RequestHandler):
    """moto's request handler (see :class:`RequestHandler`) with connections kept alive."""

    timeout = IDLE_SECONDS  # the socket's timeout (StreamRequestHandler): idle connections end

    def setup(self) -> None:
        super().setup()
        # Small requests and answers go out at once rather than waiting on the peer's ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        if format.startswith("Request timed out"):
            return  # an idle connection ending (IDLE_SECONDS), not an error
        super().log_error(format, *args)

    def run_wsgi(self) -> None:
        # An "Expect: 100-continue" was answered by http.server's parse_request already.
        self.environ = environ = self.make_environ()
        body, chunked = None, None
        if environ.get("wsgi.input_terminated"):
            self.close_connection = True  # a chunked body: werkzeug's reader finds its end
            chunked = environ["wsgi.input"]
        else:
            length = _content_length(environ)
            if length is None:
                self.close_connection = True  # where this body ends is unknown: nothing may follow it
            body = BoundedBody(self.rfile, length or 0)
            environ["wsgi.input"] = body
        response = _Response(self, environ, body)
        try:
            response.run(self.server.app)
        except _DROPPED:
            self.close_connection = True
            return
        except Exception:
            self.close_connection = True
            if self.server.passthrough_errors:
                raise
            self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
            if not response.head_sent:
                try:
                    response.run(InternalServerError())
                except _DROPPED:
                    return
            return
        if body is not None and body.remaining:
            if body.remaining > DRAIN_LIMIT:
                self.close_connection = True
            else:
                body.read()
        if chunked is not None:  # read what is left, so the client sees the answer, not a reset
            _drain(chunked)


class _Response:
    """One response written to the connection: status line and headers with the first bytes of
    the body in one write, then the rest, chunked when the application gave no length."""

    def __init__(self, handler: KeepAliveRequestHandler, environ: dict[str, Any], body: BoundedBody | None):
        self.handler = handler
        self.environ = environ
        self.body = body
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.head_sent = False
        self.chunked = False
        self.bodiless = False

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info and self.head_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status, self.headers = status, list(headers)
        return self.write

    def run(self, app: Any) -> None:
        chunks: Iterable[bytes] = app(self.environ, self.start_response)
        try:
            for data in chunks:
                self.write(data)
            if not self.head_sent:
                self.write(b"")
            if self.chunked:
                self.handler.wfile.write(b"0\r\n\r\n")
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def write(self, data: bytes) -> None:
        if self.head_sent:
            self._send(data)
            return
        assert self.status is not None, "write() before start_response"
        head = self._head()
        self.head_sent = True
        self.handler.wfile.write(head + self._framed(data) if data and not self.bodiless else head)

    def _send(self, data: bytes) -> None:
        if data and not self.bodiless:
            self.handler.wfile.write(self._framed(data))

    def _framed(self, data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data

    def _head(self) -> bytes:
        handler = self.handler
        code_text, _, reason = self.status.partition(" ")  # type: ignore[union-attr]
        code = int(code_text)
        names = {name.lower() for name, _ in self.headers}
        self.bodiless = self.environ["REQUEST_METHOD"] == "HEAD" or code < 200 or code in _NO_BODY_STATUSES
        if not self.bodiless and "content-length" not in names:
            if handler.request_version == "HTTP/1.1":
                self.chunked = True
            else:
                handler.close_connection = True  # the body ends where the connection does
        if self.body is not None and self.body.remaining > DRAIN_LIMIT:
            handler.close_connection = True
        lines = [
            f"{handler.protocol_version} {code} {reason}",
            f"Server: {handler.version_string()}",
            f"Date: {handler.date_time_string()}",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        if self.chunked:
            lines.append("Transfer-Encoding: chunked")
        if handler.close_connection:
            lines.append("Connection: close")
        handler.log_request(code)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")


def _drain(stream: Any) -> None:
    left = DRAIN_LIMIT
    try:
        while left > 0 and (data := stream.read(min(left, 65536))):
            left -= len(data)
    except (OSError, ValueError):
        pass  # the client went away, or sent a malformed chunk: the connection closes anyway


def _content_length(environ: dict[str, Any]) -> int | None:
    """The body's length; None when the header is not a length."""
    text = environ.get("CONTENT_LENGTH") or "0"
    return int(text) if text.isdigit() else None
