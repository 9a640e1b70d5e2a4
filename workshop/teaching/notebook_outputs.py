"""Refresh the stored outputs of notebooks/ and solutions/ (``make outputs``, ``python -m workshop outputs``).

nbval compares what each notebook prints with what it stores, so the stored outputs must
come from a clean run: each notebook runs top to bottom, in its own folder, against a
private emulator started for it alone (on port 4566 when free, so the outputs show what a
learner sees), as the participant ``learner`` on a freshly set-up environment. A notebook
whose new outputs equal the stored ones once masked by nbval's sanitize file (ports, ids,
timestamps) is left as it is, so refreshing does not churn files. labs/ is never executed
here: labs carry no outputs.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from workshop.account import environment
from workshop.core import backend as backends
from workshop.core import launcher
from workshop.core.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
STORED_PREFIX = "learner"
EXECUTED_FOLDERS = ("notebooks", "solutions")
CELL_TIMEOUT_SECONDS = 300
SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")  # the masks of changing output: nbval and outputs


@contextlib.contextmanager
def private_emulator() -> Iterator[dict[str, str]]:
    """An emulator of our own on a free port; yields the environment that points at it."""
    port = backends.DEFAULT_PORT if _is_free(backends.DEFAULT_PORT) else launcher.free_port()
    with tempfile.TemporaryDirectory(prefix="workshop-outputs-") as state:
        env = backends.local_process_environment(port, state, WORKSHOP_PREFIX=STORED_PREFIX)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)  # the kernel nbclient starts inherits this process's environment
        backends.current.cache_clear()
        url = f"http://127.0.0.1:{port}"
        try:
            launcher.ensure_running(url, port)
            yield env
        finally:
            launcher.stop(url)
            os.environ.clear()
            os.environ.update(saved)
            backends.current.cache_clear()


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def execute(path: Path) -> nbformat.NotebookNode:
    """Run one notebook in its folder on a fresh emulator; raise on the first failing cell."""
    notebook = nbformat.read(path, as_version=4)
    with private_emulator():
        aws = backends.current()
        environment.provision(aws, aws.names(STORED_PREFIX))
        NotebookClient(
            notebook,
            timeout=CELL_TIMEOUT_SECONDS,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    return notebook


def sanitized(text: str) -> str:
    """``text`` with nbval's masks applied, as make test compares it."""
    for regex, replace in re.findall(r"^regex: (.*)$\n^replace: (.*)$", SANITIZE_FILE.read_text(), re.MULTILINE):
        text = re.sub(regex, replace, text)
    return text


def compared(text: str) -> str:
    """What nbval compares of a notebook: masked, without the outputs of cells it ignores
    (``nbval-ignore-output``, such as a demo of random failures) and without images."""
    notebook = nbformat.reads(text, as_version=4)
    for cell in notebook.cells:
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            cell.outputs = []
        for output in cell.get("outputs", []):
            for kind in ("image/png", "image/jpeg"):
                output.get("data", {}).pop(kind, None)
    return sanitized(nbformat.writes(notebook))


def refresh(paths: list[Path], force: bool = False) -> list[Path]:
    """Re-run each notebook and write it back when what nbval compares changed (or always,
    with ``force``: a cell whose output nbval ignores keeps a stale output otherwise, such as
    the old wording of a print that was edited); returns those written."""
    changed = []
    for path in paths:
        text = nbformat.writes(execute(path)) + "\n"
        if force or compared(path.read_text()) != compared(text):
            path.write_text(text)
            changed.append(path)
        print(f"{'updated' if path in changed else 'unchanged'}: {path.relative_to(ROOT)}", flush=True)
    return changed
