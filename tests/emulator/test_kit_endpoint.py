"""The teaching switches and the webhook receiver behind AWS_ENDPOINT_URL, on any emulator.

The ``endpoint`` backend pointing at the kit's own emulator (a class's shared one, or a laptop's
reached by URL) has them as the embedded backend does; another endpoint (another emulator, any
server) gets one line saying they are not there, not a traceback. The kit's requests are signed
with SigV4 under the backend's credentials and name the participant.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workshop.core import backend as backends
from workshop.core.errors import WorkshopError
from workshop.core.launcher import IDENTITY, PARTICIPANT_HEADER
from workshop.lab_helpers import chaos, webhook


def _point_at(monkeypatch, url: str, prefix: str = "ana") -> None:
    monkeypatch.setenv("WORKSHOP_BACKEND", "endpoint")
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("WORKSHOP_PREFIX", prefix)
    monkeypatch.delenv("WORKSHOP_WEBHOOK_URL", raising=False)
    backends.current.cache_clear()


@pytest.fixture
def endpoint(emulator, monkeypatch) -> Iterator[str]:
    """The session's emulator reached as an ``endpoint`` backend, as a participant's kernel does."""
    for name, value in emulator.items():
        monkeypatch.setenv(name, value)
    url = f"http://127.0.0.1:{emulator['WORKSHOP_PORT']}"
    _point_at(monkeypatch, url)
    yield url
    backends.current.cache_clear()


class _Server:
    """A stand-in endpoint answering ``answers[path] = (status, body)``, 404 elsewhere; it keeps
    each request's path and headers."""

    def __init__(self, answers: dict[str, tuple[int, dict]]) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append((self.path, dict(self.headers)))
                status, body = answers.get(self.path, (404, {"message": "not found"}))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server():
    started = []

    def start(answers: dict[str, tuple[int, dict]]) -> _Server:
        started.append(_Server(answers))
        return started[-1]

    yield start
    for running in started:
        running.close()
    backends.current.cache_clear()


def test_the_switches_work_behind_an_endpoint_that_is_the_kits_emulator(endpoint):
    assert backends.current().kind == backends.ENDPOINT
    before = chaos.current()
    with chaos.switched(duplicate_rate=1.0, delay_ms=2) as inside:
        assert inside["duplicate_rate"] == 1.0 and chaos.current()["delay_ms"] == 2
    assert chaos.current() == before


def test_the_webhook_receiver_works_behind_an_endpoint_that_is_the_kits_emulator(endpoint, prefix):
    import urllib.request

    channel = f"{prefix}-alerts"
    hook = webhook.url(channel)
    assert hook.startswith(f"{endpoint}/_workshop/webhooks/ana-")
    request = urllib.request.Request(hook, data=json.dumps({"text": "backlog"}).encode(), method="POST")
    assert urllib.request.urlopen(request, timeout=10).read() == b"ok"
    assert [m["text"] for m in webhook.messages(channel)] == ["backlog"]
    webhook.clear(channel)
    assert webhook.messages(channel) == []


@pytest.mark.parametrize(
    "answers",
    [
        {},  # 404 everywhere, as another emulator answers a path it does not know
        {"/_workshop/health": (200, {"status": "running"})},  # an answer, not the kit's
    ],
    ids=["not-found", "another-service"],
)
def test_another_endpoint_gets_one_line_not_a_traceback(server, monkeypatch, capsys, answers):
    other = server(answers)
    _point_at(monkeypatch, other.url)
    ran = []
    with chaos.switched(duplicate_rate=1.0):
        ran.append(True)
    assert ran, "the block runs without the switches"
    said = capsys.readouterr().out
    assert said.count("\n") == 1 and other.url in said and "not the kit's emulator" in said, said
    with pytest.raises(WorkshopError, match="only on the kit's own emulator") as error:
        chaos.configure(failure_rate=0.5)
    assert "\n" not in str(error.value)
    with pytest.raises(WorkshopError, match="WORKSHOP_WEBHOOK_URL"):
        webhook.url()
    assert [path for path, _ in other.seen] == ["/_workshop/health"], "asked once, then remembered"


def test_real_aws_has_no_switches_and_says_so(monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_BACKEND", "aws")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    backends.current.cache_clear()
    try:
        with chaos.switched(failure_rate=0.5):
            pass
        assert capsys.readouterr().out == (
            "Teaching switches exist only on the kit's own emulator, not on a real AWS account. "
            "The block runs without them.\n"
        )
    finally:
        backends.current.cache_clear()


def test_the_kits_requests_are_signed_and_name_the_participant(server, monkeypatch):
    kit = server({"/_workshop/health": (200, {"service": IDENTITY}), "/_workshop/chaos": (200, chaos.OFF)})
    _point_at(monkeypatch, kit.url, prefix="wkshp-ana")
    chaos.configure(failure_rate=0.0)
    path, headers = kit.seen[-1]
    assert path == "/_workshop/chaos"
    assert headers[PARTICIPANT_HEADER] == "wkshp-ana"
    authorization = headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/workshop/aws4_request" in authorization
    assert PARTICIPANT_HEADER.lower() in authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
