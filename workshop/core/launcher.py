"""Start, find and stop a background emulator shared by every process on the machine.

``make lab``, ``setup_env.py`` and a notebook that finds none running all go through
:func:`ensure_running`, so the learner never has to start it by hand.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from workshop.core.errors import WorkshopError
from workshop.core.paths import PROJECT_ROOT

START_TIMEOUT_SECONDS = 30.0
IDENTITY = "workshop-emulator"  # what /_workshop/health answers as "service": the kit's own emulator
# The instructor's key on a shared emulator; its secret is the admin token (see admin_token_path).
INSTRUCTOR_ACCESS_KEY = "WORKSHOPINSTRUCTOR"
# The participant prefix a client of the kit's own API (``/_workshop/...``) acts for.
PARTICIPANT_HEADER = "X-Workshop-Participant"


def state_dir() -> Path:
    """Where the background emulator's log lives (``WORKSHOP_STATE_DIR``, else ``.workshop/``)."""
    path = Path(os.environ.get("WORKSHOP_STATE_DIR", PROJECT_ROOT / ".workshop"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def admin_token_path(port: int) -> Path:
    """Where a shared emulator keeps its admin token, readable by the instructor's user alone."""
    return state_dir() / f"admin-token-{port}"


def class_keys_path(port: int) -> Path:
    """Where the instructor's machine keeps the participants' keys for the emulator on ``port``."""
    return state_dir() / f"class-keys-{port}.json"


def instructor_credentials(port: int) -> dict[str, str] | None:
    """The instructor's credentials for the shared emulator on ``port``, when this user can read
    its token (a participant's machine never has the file); None otherwise."""
    try:
        token = admin_token_path(port).read_text().strip()
    except OSError:
        return None
    return {"aws_access_key_id": INSTRUCTOR_ACCESS_KEY, "aws_secret_access_key": token} if token else None


def free_port() -> int:
    """A TCP port nobody listens on right now, for a private emulator (tests, output refresh)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def probe(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """The emulator's health answer at ``url``, or None when nothing answers there.

    Raises when something else (LocalStack, another server) holds the port, because
    talking to it as if it were ours would confuse every later step.
    """
    try:
        with urllib.request.urlopen(f"{url}/_workshop/health", timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        raise WorkshopError(
            f"Something other than the workshop emulator answers at {url} (HTTP {error.code}); "
            "stop it or choose another port with WORKSHOP_PORT."
        ) from None
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None
    try:
        health = json.loads(body)
    except ValueError:
        health = {}
    if health.get("service") != IDENTITY:
        raise WorkshopError(
            f"Something other than the workshop emulator answers at {url}; "
            "stop it or choose another port with WORKSHOP_PORT."
        )
    return health


def ensure_running(url: str, port: int, fresh: bool = False) -> dict[str, Any]:
    """Reuse the emulator at ``url`` or start one in the background; return its health.

    A new one loads the state the last one on this port saved, unless ``fresh``."""
    health = probe(url)
    if health:
        return health
    log_path = state_dir() / f"emulator-{port}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "workshop",
                "serve",
                "--port",
                str(port),
                "--quiet",
                *(["--fresh"] if fresh else []),
            ],
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the kernel or script that started it
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        health = probe(url, timeout=0.5)
        if health:
            return health
        if process.poll() is not None:
            # Lost a race with another starter that now serves the port, or failed.
            health = probe(url, timeout=0.5)
            if health:
                return health
            raise WorkshopError(f"The emulator did not start; see {log_path}.")
        time.sleep(0.05)
    process.terminate()
    raise WorkshopError(f"The emulator did not answer within {START_TIMEOUT_SECONDS:.0f} s; see {log_path}.")


def stop(url: str, timeout: float = 30.0) -> bool:
    """Ask the emulator at ``url`` to stop; True if one was running.

    Returns once its process has exited, not merely stopped answering: it writes its state
    last, and an emulator started at once on the same port must find that state whole."""
    health = probe(url)
    if not health:
        return False
    request = urllib.request.Request(f"{url}/_workshop/shutdown", method="POST", data=b"")
    urllib.request.urlopen(request, timeout=2).read()
    local = urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
    pid = health.get("pid") if local else None  # another machine's process ids mean nothing here
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not probe(url, timeout=0.3) and not _running(pid):
            return True
        time.sleep(0.1)
    raise WorkshopError(f"The emulator at {url} did not stop within {timeout:.0f} s.")


def _running(pid: int | None) -> bool:
    """Whether the process is alive (an exited child its parent has not reaped yet is not)."""
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
