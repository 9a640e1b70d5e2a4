"""The kit's JupyterLab defaults: written into the environment by setup_env.py, read by a plain
`jupyter lab` from that environment (make lab's is checked in a browser by
test_jupyterlab_browser.py), never written to a home folder or a system-wide Python."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT
from workshop.core.launcher import free_port
from workshop.teaching import jupyterlab_settings

NOTIFICATION = "@jupyterlab/apputils-extension:notification"


def test_the_kit_turns_off_the_news_prompt_and_nothing_else():
    overrides = json.loads(jupyterlab_settings.SOURCE.read_text())
    assert overrides == {NOTIFICATION: {"fetchNews": "false"}}


def test_written_into_a_virtual_or_conda_environment_only(tmp_path):
    venv, base = tmp_path / "venv", tmp_path / "base"
    expected = venv / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "workshop.json"
    assert jupyterlab_settings.target(str(venv), str(base), {}) == expected
    assert jupyterlab_settings.target(str(venv), str(venv), {"CONDA_PREFIX": str(venv)}) == expected
    assert jupyterlab_settings.target(str(base), str(base), {}) is None, "a system-wide Python is left alone"
    moved = jupyterlab_settings.target(str(venv), str(base), {"JUPYTERLAB_DIR": str(tmp_path / "lab")})
    assert moved == tmp_path / "lab" / "settings" / "overrides.d" / "workshop.json"


def test_install_writes_once_and_leaves_an_unwritable_environment_alone(tmp_path):
    destination = tmp_path / "settings" / "overrides.d" / "workshop.json"
    assert jupyterlab_settings.install(destination) == destination
    assert destination.read_text() == jupyterlab_settings.SOURCE.read_text()
    assert jupyterlab_settings.install(destination) is None, "already there: nothing written"
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert jupyterlab_settings.install(blocked / "overrides.d" / "workshop.json") is None


@pytest.mark.timeout(180)
def test_a_plain_jupyter_lab_from_the_environment_reads_them(tmp_path):
    destination = jupyterlab_settings.target()
    if destination is None:
        pytest.skip("the tests do not run in a virtual environment")
    jupyterlab_settings.install()  # what setup_env.py does first
    port, token = free_port(), secrets.token_hex(16)
    env = {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            "--allow-root",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/lab/api/settings/{NOTIFICATION}?token={token}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    answer = json.load(response)
                break
            except (urllib.error.URLError, OSError):
                assert process.poll() is None and time.monotonic() < deadline, "jupyter lab did not answer"
                time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert answer["schema"]["properties"]["fetchNews"]["default"] == "false", "the kit's default"
    assert answer["settings"] == {}, "the learner's own settings are untouched (and would win)"
