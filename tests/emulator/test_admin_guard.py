"""An emulator served beyond loopback keeps its admin endpoints for the instructor's token.

Started with ``--host 0.0.0.0`` as INSTRUCTOR.md's shared class does, and called over loopback as
a participant's machine would call it over the network: every AWS API and what a participant's own
work needs answer; what would change or reveal everyone's work is refused without the token.
"""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request

import pytest

from tests.conftest import emulator_process
from workshop.core import backend as backends
from workshop.core import launcher
from workshop.core.launcher import INSTRUCTOR_ACCESS_KEY
from workshop.emulator import admin_guard


def _call(
    url: str, method: str = "GET", body: bytes | None = None, token: str | None = None, participant: str | None = None
) -> int:
    headers = {admin_guard.HEADER: token} if token else {}
    if participant:  # the prefix a participant's kit names (lab_helpers.kit_emulator)
        headers[launcher.PARTICIPANT_HEADER] = participant
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("lab-pc.local", False),
    ],
)
def test_only_loopback_addresses_count_as_private(host, loopback):
    assert admin_guard.is_loopback(host) is loopback


def test_a_shared_emulator_refuses_admin_calls_without_the_token(tmp_path):
    with emulator_process(tmp_path, serve_args=("--host", "0.0.0.0")) as env:
        url = f"http://127.0.0.1:{env['WORKSHOP_PORT']}"
        token_file = tmp_path / f"admin-token-{env['WORKSHOP_PORT']}"
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        log = (tmp_path / "emulator.log").read_text()
        assert "WARNING: listening on 0.0.0.0" in log and token in log

        instructor = (INSTRUCTOR_ACCESS_KEY, token)
        backend = backends.Backend(backends.ENDPOINT, url, backends.LOCAL_REGION, instructor)
        s3 = backend.client("s3")
        s3.create_bucket(Bucket="ana-kept")  # AWS's APIs answer whoever signs with a known key

        assert _call(f"{url}/_workshop/health") == 200
        assert _call(f"{url}/_workshop/chaos") == 200
        assert _call(f"{url}/_workshop/webhooks/ana", "POST", json.dumps({"text": "hi"}).encode()) == 200
        assert _call(f"{url}/_workshop/webhooks/ana") == 200
        # a participant's own switches and channels need no token, but the name must come with that
        # participant's signature (tests/emulator/test_shared_switches.py signs as the kit does):
        # a bare claim is the room's request, which is the instructor's
        assert (
            _call(f"{url}/_workshop/chaos", "POST", json.dumps({"failure_rate": 1.0}).encode(), participant="ana")
            == 403
        )
        assert _call(f"{url}/_workshop/webhooks/ana-alerts", "DELETE", participant="ana") == 403

        refused = [
            ("/moto-api/reset", "POST", b""),
            ("/moto-api/data.json", "GET", None),
            ("/_workshop/shutdown", "POST", b""),
            ("/_workshop/stats", "GET", None),
            ("/_workshop/chaos", "POST", json.dumps({"failure_rate": 1.0}).encode()),
            ("/_workshop/webhooks/ana", "DELETE", None),
        ]
        for path, method, body in refused:
            assert _call(f"{url}{path}", method, body) == 403, path
            assert _call(f"{url}{path}", method, body, token="not-the-token") == 403, path
        assert _call(f"{url}/_workshop/webhooks/bob-alerts", "DELETE", participant="ana") == 403, "bob's channel"
        assert _call(f"{url}/_workshop/stats", participant="ana") == 403
        # nothing was reset, switched or stopped
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["ana-kept"]
        assert _call(f"{url}/_workshop/health") == 200

        assert _call(f"{url}/_workshop/stats", token=token) == 200
        assert _call(f"{url}/_workshop/webhooks/ana", "DELETE", token=token) == 200
        assert _call(f"{url}/moto-api/reset", "POST", b"", token=token) == 200
        assert s3.list_buckets()["Buckets"] == []
