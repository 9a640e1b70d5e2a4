"""The workshop as its users time it: every notebook's Run All, a class's setup and teardown, make test.

Each notebook runs as ``make outputs`` runs it (:func:`workshop.teaching.notebook_outputs.execute`):
top to bottom, in its folder, on a private emulator of its own, as a freshly set-up learner.
The time includes that emulator's start and the learner's setup: what a learner who opens
the notebook and presses Run All waits for. Nothing is written back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import ROOT

from workshop.teaching import notebook_outputs

NOTEBOOK_FOLDERS = ("notebooks", "solutions")


def notebooks(only: list[str] | None = None) -> list[dict[str, Any]]:
    paths = sorted(p for folder in NOTEBOOK_FOLDERS for p in (ROOT / folder).glob("*.ipynb"))
    if only:
        paths = [p for p in paths if any(word in str(p.relative_to(ROOT)) for word in only)]
    results = []
    for path in paths:
        started = time.perf_counter()
        error = ""
        try:
            executed = notebook_outputs.execute(path)
            cells = sum(1 for c in executed.cells if c.cell_type == "code")
        except Exception as failure:  # a failing notebook is a figure too: how long until it failed
            error, cells = f"{type(failure).__name__}: {str(failure).splitlines()[0][:120] if str(failure) else ''}", 0
        seconds = time.perf_counter() - started
        results.append(
            {"notebook": str(path.relative_to(ROOT)), "seconds": seconds, "code_cells": cells, "error": error}
        )
        print(f"  {path.relative_to(ROOT)}: {seconds:.1f} s{' FAILED ' + error if error else ''}", flush=True)
    return results


def class_setup(participants: int) -> dict[str, Any]:
    """setup_env.py --participants N, then teardown_env.py --participants N, on a private emulator."""
    with notebook_outputs.private_emulator() as env:
        env = {**env, "PYTHONPATH": str(ROOT)}
        timings = {}
        for script in ("setup_env.py", "teardown_env.py"):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, script, "--participants", str(participants)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=3600,
            )
            timings[script] = time.perf_counter() - started
            if done.returncode:
                raise RuntimeError(f"{script} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
            last = [line for line in done.stdout.splitlines() if line.strip()][-1]
            timings[script + " said"] = last
    return {
        "participants": participants,
        "setup_s": timings["setup_env.py"],
        "teardown_s": timings["teardown_env.py"],
        "setup_said": timings["setup_env.py said"],
        "teardown_said": timings["teardown_env.py said"],
    }


def make_test(ci_log: Path, ci_time: Path, run: bool) -> dict[str, Any]:
    """``make test``'s wall time: from a CI run's timing file when there is one, else measured."""
    if not run and ci_time.exists() and ci_time.read_text().strip():
        text = ci_time.read_text()
        seconds = _seconds_in(text)
        summary = ""
        if ci_log.exists():
            found = re.findall(r"=+ (.*(?:passed|failed).*) in ([\d.]+)s", ci_log.read_text(errors="replace"))
            summary = found[-1][0] if found else ""
        return {"seconds": seconds, "source": f"CI run's timing ({ci_time.name})", "summary": summary}
    if not run:
        return {"seconds": None, "source": "not measured (no CI timing found; run with --make-test)", "summary": ""}
    started = time.perf_counter()
    done = subprocess.run(
        ["make", "test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTEST_ARGS": os.environ.get("PYTEST_ARGS", "-q")},
    )
    seconds = time.perf_counter() - started
    found = re.findall(r"=+ (.*(?:passed|failed).*) in ([\d.]+)s", done.stdout)
    return {
        "seconds": seconds,
        "source": "measured by this run",
        "summary": found[-1][0] if found else f"exit status {done.returncode}",
    }


def _seconds_in(text: str) -> float | None:
    """Seconds from `time` (real 12m3.4s), GNU time (Elapsed ... 12:03.4) or a bare number."""
    match = re.search(r"real\s+(?:(\d+)m)?([\d.]+)s", text)
    if match:
        return int(match.group(1) or 0) * 60 + float(match.group(2))
    match = re.search(r"[Ee]lapsed.*?(?:(\d+):)?(\d+):([\d.]+)", text)
    if match:
        return int(match.group(1) or 0) * 3600 + int(match.group(2)) * 60 + float(match.group(3))
    match = re.search(r"([\d.]+)", text)
    return float(match.group(1)) if match else None
