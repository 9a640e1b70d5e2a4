"""`make lab`'s path: emulator reused, environment set up, JupyterLab serving the first notebook."""

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

from tests.conftest import ROOT, free_port
from workshop.account import inventory
from workshop.core.waiting import wait_for


def _serving(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=t0k", timeout=1).read()
        return True
    except OSError:
        return False


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_lab_sets_up_and_serves_the_first_notebook(emulator, backend, prefix, tmp_path):
    port = free_port()
    env = {
        **emulator,
        "WORKSHOP_PREFIX": prefix,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    log = tmp_path / "lab.log"
    with open(log, "w") as output:
        lab = subprocess.Popen(
            [sys.executable, "-m", "workshop", "lab", "--no-browser", f"--port={port}", "--ServerApp.token=t0k"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        started = time.perf_counter()
        status = None
        while time.perf_counter() - started < 90 and lab.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=t0k", timeout=1) as r:
                    status = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.25)
        text = log.read_text()
        assert status is not None, f"JupyterLab did not answer:\n{text}"
        assert "Environment of" in text and "ready" in text, text
        assert "Ctrl-C" in text and "make stop" in text, "the lab must say how to stop"
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(f"http://127.0.0.1:{port}/?token=t0k", timeout=5)
            landing = None
        except urllib.error.HTTPError as redirect:
            landing = redirect.headers["Location"]
        assert landing.startswith("/lab/tree/notebooks/00_getting_started.ipynb"), landing
        assert re.search(rf"http://127.0.0.1:{port}/lab/tree/notebooks/00_getting_started.ipynb\?token=", text), (
            "the printed URL must open the first notebook"
        )
        url = f"http://127.0.0.1:{port}/api/contents/notebooks/00_getting_started.ipynb?token=t0k&content=0"
        with urllib.request.urlopen(url, timeout=5) as r:
            assert json.loads(r.read())["type"] == "notebook"
        assert len(inventory.find(backend, backend.names(prefix))) > 0
    finally:
        lab.terminate()
        lab.wait(timeout=20)
    assert wait_for(lambda: not _serving(port), "JupyterLab to stop with the launcher", timeout=20)
