"""On an emulator shared by a class, a participant's teaching switches act on their own work only.

Served with ``--host 0.0.0.0`` as INSTRUCTOR.md's shared class is, and called as two participants
would call it with the ``endpoint`` backend: ana's ``failure_rate 1.0`` fails ana's asynchronous
invocations and not bob's; each reads back their own switches; the room's need the token.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import emulator_process
from tests.emulator.test_event_delivery import notify_lambda, wait_events
from tests.lambda_helpers import deploy_source, ready_names
from workshop.account import participant_keys
from workshop.core import backend as backends
from workshop.core.errors import WorkshopError
from workshop.core.naming import Names
from workshop.core.waiting import wait_for
from workshop.emulator import admin_guard
from workshop.lab_helpers import chaos, webhook

RECORDER = """
import json
def handler(event, context):
    print("EVENT " + json.dumps(event))
"""


def _admin(url: str, route: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    """A call without a participant's name: the room's switches, as the instructor's curl sends it."""
    request = urllib.request.Request(
        f"{url}/_workshop/{route}",
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={admin_guard.HEADER: token} if token else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """A class's emulator, its token, the instructor's backend (the machine that serves it, which
    signs with the token it can read), and ``as_participant(prefix)``, which points this
    process's helpers at it as that participant, with the key class setup issues them."""
    with emulator_process(tmp_path, serve_args=("--host", "0.0.0.0")) as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        url = f"http://127.0.0.1:{env['WORKSHOP_PORT']}"
        token = (tmp_path / f"admin-token-{env['WORKSHOP_PORT']}").read_text().strip()
        instructor = backends.Backend(backends.EMBEDDED, url, backends.LOCAL_REGION)

        def as_participant(prefix: str) -> None:
            key_id, secret = participant_keys.issue(instructor, Names(prefix), tmp_path / "class-keys.json")
            monkeypatch.setenv("WORKSHOP_BACKEND", "endpoint")
            monkeypatch.setenv("AWS_ENDPOINT_URL", url)
            monkeypatch.setenv("WORKSHOP_ACCESS_KEY_ID", key_id)
            monkeypatch.setenv("WORKSHOP_SECRET_ACCESS_KEY", secret)
            monkeypatch.setenv("WORKSHOP_PREFIX", prefix)
            backends.current.cache_clear()

        yield url, token, instructor, as_participant
    backends.current.cache_clear()


def test_a_participants_failure_switch_fails_their_invocations_and_no_one_elses(shared, prefix):
    url, token, backend, as_participant = shared
    lam = backend.client("lambda")
    ana, bob = ready_names(backend, f"{prefix}-ana"), ready_names(backend, f"{prefix}-bob")
    for names in (ana, bob):
        deploy_source(backend, names, "recorder", RECORDER)
        lam.put_function_event_invoke_config(FunctionName=names.function("recorder"), MaximumRetryAttempts=0)
        notify_lambda(backend, names, names.bucket("incoming"), names.function("recorder"))

    as_participant(ana.prefix)
    assert chaos.configure(failure_rate=1.0)["failure_rate"] == 1.0, "no token needed for one's own switches"
    assert chaos.current()["failure_rate"] == 1.0, "ana reads back her own switches"
    assert _admin(url, "chaos") == (200, chaos.OFF), "the room's are as they were"
    assert _admin(url, "chaos", {"failure_rate": 0.5})[0] == 403, "the room's need the instructor's token"
    as_participant(bob.prefix)
    assert chaos.current() == chaos.OFF, "bob's are the room's"

    for names in (ana, bob):
        backend.client("s3").put_object(Bucket=names.bucket("incoming"), Key="day.csv", Body=b"id\n1\n")
    wait_events(backend, bob.function("recorder"), 1)

    def invocations():
        return _admin(url, "stats", token=token)[1]["invocations"]

    counted = wait_for(
        lambda: (seen := invocations()).get(ana.function("recorder"), {}).get("error") and seen, "ana's failure"
    )
    assert counted[ana.function("recorder")] == {"ok": 0, "error": 1}, "the switch failed ana's upload"
    assert counted[bob.function("recorder")] == {"ok": 1, "error": 0}, "bob's upload was processed"

    # The instructor still sets the room's: bob, who set nothing, gets them; ana keeps what she set.
    assert _admin(url, "chaos", {"failure_rate": 0.5, "delay_ms": 3}, token=token)[0] == 200
    assert chaos.current()["failure_rate"] == 0.5
    as_participant(ana.prefix)
    assert chaos.current()["failure_rate"] == 1.0 and chaos.current()["delay_ms"] == 3
    chaos.reset()
    assert chaos.current() == chaos.OFF and _admin(url, "chaos")[1]["failure_rate"] == 0.5


def test_a_participant_reads_and_clears_their_own_webhook_channel_only(shared, prefix):
    url, _, _, as_participant = shared
    as_participant(f"{prefix}-ana")
    hook = webhook.url("alerts")
    assert hook.endswith(f"/_workshop/webhooks/{prefix}-ana-alerts"), "a channel of ana's own"
    request = urllib.request.Request(hook, data=json.dumps({"text": "backlog"}).encode(), method="POST")
    assert urllib.request.urlopen(request, timeout=10).read() == b"ok"
    assert [m["text"] for m in webhook.messages("alerts")] == ["backlog"]
    webhook.clear("alerts")
    assert webhook.messages("alerts") == []

    as_participant(f"{prefix}-bob")
    assert webhook.messages("alerts") == [], "bob's alerts channel is not ana's"
    refused = urllib.request.Request(f"{url}/_workshop/webhooks/{prefix}-ana-alerts", method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(refused, timeout=10)
    assert error.value.code == 403, "clearing another's channel stays the instructor's"
    with pytest.raises(WorkshopError, match="instructor's token"):
        chaos._admin("stats")


def test_a_participants_delay_switch_holds_back_no_one_elses_events(shared, prefix):
    """The delay waits on a timer, not in the delivery threads the whole class shares: ana's ten
    delayed uploads (more than there are delivery threads) do not hold bob's back."""
    _, _, backend, as_participant = shared
    ana, bob = ready_names(backend, f"{prefix}-ana"), ready_names(backend, f"{prefix}-bob")
    for names in (ana, bob):
        deploy_source(backend, names, "recorder", RECORDER)
        notify_lambda(backend, names, names.bucket("incoming"), names.function("recorder"))
    as_participant(ana.prefix)
    chaos.configure(delay_ms=4000)
    for n in range(10):
        backend.client("s3").put_object(Bucket=ana.bucket("incoming"), Key=f"day{n}.csv", Body=b"id\n1\n")
    started = time.monotonic()
    backend.client("s3").put_object(Bucket=bob.bucket("incoming"), Key="day.csv", Body=b"id\n1\n")
    wait_events(backend, bob.function("recorder"), 1)
    assert time.monotonic() - started < 3, "bob's upload waited behind ana's delay"
    wait_events(backend, ana.function("recorder"), 10, timeout=30)
    chaos.reset()
