"""The emulator's connections stay open between requests, and a request's body never spills into
the next one: each test speaks raw HTTP to a small WSGI application served as the emulator
serves (werkzeug's threaded server, the kit's handler)."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from workshop.emulator import keep_alive
from workshop.emulator.keep_alive import KeepAliveRequestHandler


def _app(environ, start_response):
    """Echoes what it read; ``/ignore`` reads nothing, ``/all`` reads with no size, ``/stream``
    answers without a length, ``/fail`` raises."""
    path = environ["PATH_INFO"]
    if path == "/fail":
        raise RuntimeError("the application failed")
    body = b""
    if path == "/all":
        body = environ["wsgi.input"].read()
    elif path != "/ignore":
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    answer = b"%s read %d bytes" % (path.encode(), len(body))
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"first,", b"second"])
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(answer)))])
    return [answer]


@pytest.fixture
def port() -> Iterator[int]:
    server = make_server("127.0.0.1", 0, _app, threaded=True, request_handler=KeepAliveRequestHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def _ask(connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None, **headers: str):
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response, response.read()


def test_one_connection_carries_many_requests(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    local_ports = set()
    for number in range(3):
        response, body = _ask(connection, "POST", "/echo", b"x" * number)
        assert (response.status, body) == (200, b"/echo read %d bytes" % number)
        assert response.getheader("Connection") is None
        local_ports.add(connection.sock.getsockname()[1])
    assert len(local_ports) == 1  # http.client reconnects silently when a server closes


@pytest.mark.parametrize("path", ["/ignore", "/all"])
def test_a_body_never_spills_into_the_next_request(port: int, path: str) -> None:
    """/ignore leaves its body unread (the handler reads it after the answer); /all reads with no
    size, which on an open connection would wait for the client's next request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    response, body = _ask(connection, "POST", path, b"GET /smuggled HTTP/1.1\r\n\r\n")
    assert response.status == 200
    assert body == (b"/all read 26 bytes" if path == "/all" else b"/ignore read 0 bytes")
    response, body = _ask(connection, "POST", "/echo", b"next")
    assert (response.status, body) == (200, b"/echo read 4 bytes")


def test_an_answer_without_a_length_is_chunked_and_the_connection_stays(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    response, body = _ask(connection, "GET", "/stream")
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert body == b"first,second"
    assert _ask(connection, "GET", "/echo")[1] == b"/echo read 0 bytes"


def test_head_sends_no_body(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        received = _read_until(raw, b"/echo read 0 bytes")
    head, _, rest = received.partition(b"\r\n\r\n")
    assert b"Content-Length: 18" in head
    assert rest.startswith(b"HTTP/1.1 200 OK")  # the next answer follows the head at once


def test_a_chunked_request_or_a_bad_length_closes_the_connection(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    response, body = _ask(connection, "POST", "/echo", iter([b"abc", b"de"]))  # sent chunked
    assert response.getheader("Connection") == "close"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n\r\nabc")
        received = _read_until(raw, b"")
    assert b"Connection: close" in received


def test_an_application_error_answers_500_and_closes(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    response, _ = _ask(connection, "GET", "/fail")
    assert response.status == 500
    assert response.getheader("Connection") == "close"


def test_an_idle_connection_ends_quietly(port: int, monkeypatch: pytest.MonkeyPatch, capfd) -> None:
    monkeypatch.setattr(KeepAliveRequestHandler, "timeout", 0.2)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        received = _read_until(raw, b"")  # the answer, then the close 0.2 s later
    assert received.endswith(b"/echo read 0 bytes")
    assert "timed out" not in capfd.readouterr().err


def test_a_large_unread_body_closes_rather_than_drains(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keep_alive, "DRAIN_LIMIT", 10)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    response, body = _ask(connection, "POST", "/ignore", b"y" * 100)
    assert (response.status, response.getheader("Connection")) == (200, "close")


def _read_until(raw: socket.socket, ending: bytes) -> bytes:
    """Everything the server sends until ``ending`` arrives (``b""``: until it closes)."""
    received = b""
    while not (ending and received.endswith(ending)):
        data = raw.recv(65536)
        if not data:
            break
        received += data
    return received
