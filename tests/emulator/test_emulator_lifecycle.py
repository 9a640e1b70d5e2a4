"""The background emulator: started once, shared, reused, stopped; a foreign server is named."""

import http.server
import threading
import time

import pytest

from tests.conftest import emulator_stats, free_port, local_environment, run_script
from workshop.core import launcher
from workshop.core.errors import WorkshopError


def test_start_reuse_status_and_stop(tmp_path, monkeypatch):
    port = free_port()
    env = local_environment(port, tmp_path)
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path))
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        first = launcher.ensure_running(url, port)
        startup = time.perf_counter() - started
        assert first["service"] == "workshop-emulator"
        assert startup < 15, f"startup took {startup:.1f} s"
        assert launcher.ensure_running(url, port)["pid"] == first["pid"], "a running emulator must be reused"

        status = run_script(env, "-m", "workshop", "status", "--prefix", "ana")
        assert status.returncode == 0, status.stderr
        assert "backend:   embedded" in status.stdout
        assert f"endpoint:  {url}" in status.stdout
        assert f"pid {first['pid']}" in status.stdout
        assert "prefix:    ana" in status.stdout
        assert (tmp_path / f"emulator-{port}.log").exists()
    finally:
        assert launcher.stop(url) is True
    assert launcher.probe(url) is None
    assert launcher.stop(url) is False
    status = run_script(env, "-m", "workshop", "status")
    assert "answers:   no" in status.stdout


def test_a_foreign_server_on_the_port_is_reported(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        with pytest.raises(WorkshopError, match="Something other than the workshop emulator"):
            launcher.ensure_running(f"http://127.0.0.1:{port}", port)
    finally:
        server.shutdown()


def test_serve_on_a_busy_port_fails_with_one_line(emulator):
    result = run_script(emulator, "-m", "workshop", "serve", "--port", emulator["WORKSHOP_PORT"])
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: Cannot listen on 127.0.0.1:")
    assert "Traceback" not in result.stderr


def test_env_prints_exports_for_the_aws_cli(emulator):
    result = run_script(emulator, "-m", "workshop", "env")
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{emulator['WORKSHOP_PORT']}" in result.stdout
    assert "export AWS_ACCESS_KEY_ID=test" in result.stdout


def test_a_running_emulator_collects_garbage(emulator):
    """Collection is off while the emulator imports (it would find next to nothing there) and
    must be on again once it serves, or a day of requests would keep every cycle they left."""
    collection = emulator_stats(f"http://127.0.0.1:{emulator['WORKSHOP_PORT']}")["garbage_collection"]
    assert collection["enabled"] is True
