"""What every benchmark shares: a private emulator process, its counters, its memory, raw rates.

The emulator runs as its own process (``python -m workshop serve``), as for a learner, so
its start-up, its memory and its Lambda worker processes are measured as they really are.
``BENCH_PROFILE=<file>`` runs it under :mod:`sampler` (a sampling profiler of every thread)
and writes the hottest stacks to that file when it stops.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from workshop.core import launcher  # noqa: E402
from workshop.core.backend import EMBEDDED, Backend, local_process_environment  # noqa: E402
from workshop.core.waiting import wait_for  # noqa: E402

# Beyond what the kit never lets a process it starts inherit (backends.SCRUBBED_VARIABLES): the
# teaching switches of the shell that runs the bench, which would skew every figure.
_CHAOS_VARIABLES = ("WORKSHOP_CHAOS_DUPLICATE_RATE", "WORKSHOP_CHAOS_FAILURE_RATE", "WORKSHOP_CHAOS_DELAY_MS")


class Emulator:
    """A private emulator on a free port, started as a learner's is; ``with`` stops it."""

    def __init__(self, profile: str | None = None, **settings: str) -> None:
        self.port = launcher.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._state = tempfile.TemporaryDirectory(prefix="workshop-bench-")
        env = local_process_environment(self.port, self._state.name, PYTHONPATH=str(ROOT))
        for name in _CHAOS_VARIABLES:
            env.pop(name, None)
        env.update(settings)
        profile = profile or os.environ.get("BENCH_PROFILE")
        if profile:
            command = [
                sys.executable,
                str(BENCH / "sampler.py"),
                profile,
                "--",
                "serve",
                "--port",
                str(self.port),
                "--quiet",
            ]
        else:
            command = [sys.executable, "-m", "workshop", "serve", "--port", str(self.port), "--quiet"]
        self._log = open(Path(self._state.name) / "emulator.log", "wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        wait_for(
            lambda: launcher.probe(self.url, timeout=0.2), "the emulator", timeout=60, interval=0.01, max_interval=0.01
        )
        self.first_answer_s = time.perf_counter() - self.started
        self.backend = Backend(EMBEDDED, self.url, "us-east-1")

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                launcher.stop(self.url, timeout=30)
            except Exception:
                self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()
        self._state.cleanup()

    def log_tail(self, lines: int = 20) -> str:
        text = (Path(self._state.name) / "emulator.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_workshop/stats", timeout=30) as response:
            return json.loads(response.read())

    def invocations(self, function: str) -> int:
        return self.stats()["invocations"].get(function, {}).get("ok", 0)

    def memory(self) -> MemorySampler:
        return MemorySampler(self.process.pid)


class MemorySampler:
    """Peak resident memory of a process and of it plus its children (Lambda workers, and the
    forked copy that writes a snapshot: a child running the emulator's own command), sampled."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self._root = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._command = self._root.cmdline()
        self.peak_emulator_mb = self.peak_total_mb = self.peak_snapshot_copy_mb = 0.0
        self.peak_workers = 0
        self.samples = 0
        self._thread = threading.Thread(target=self._run, daemon=True, name="memory-sampler")

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self._interval):
                self.sample()
                return

    def sample(self) -> None:
        try:
            own = self._root.memory_info().rss
            children = self._root.children(recursive=True)
        except psutil.Error:
            return
        total, workers = own, 0
        for child in children:
            try:
                rss = child.memory_info().rss
                if child.ppid() == self._root.pid and child.cmdline() == self._command:
                    self.peak_snapshot_copy_mb = max(self.peak_snapshot_copy_mb, rss / 2**20)
                else:
                    workers += 1
                total += rss
            except psutil.Error:
                pass
        self.samples += 1
        self.peak_emulator_mb = max(self.peak_emulator_mb, own / 2**20)
        self.peak_total_mb = max(self.peak_total_mb, total / 2**20)
        self.peak_workers = max(self.peak_workers, workers)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def timed_calls(call: Callable[[int], Any], count: int) -> list[float]:
    """Milliseconds of each of ``count`` calls, one after another."""
    samples = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def concurrent_rate(work: Callable[[int], int], units: int, threads: int) -> tuple[float, int, float]:
    """Run ``work(i)`` for every unit on ``threads`` threads; each returns the API calls it made.
    Returns (calls per second, calls, seconds)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        calls = sum(pool.map(work, range(units)))
    seconds = time.perf_counter() - started
    return calls / seconds, calls, seconds


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def handler_seconds(aws: Backend, function: str) -> tuple[float, int]:
    """(seconds the function's handler ran, invocations), summed from its REPORT log lines."""
    logs = aws.client("logs")
    total, count = 0.0, 0
    try:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=f"/aws/lambda/{function}", filterPattern="REPORT"
        )
        for page in pages:
            for event in page["events"]:
                if event["message"].startswith("REPORT"):
                    total += float(event["message"].split("Duration: ", 1)[1].split(" ms", 1)[0]) / 1000
                    count += 1
    except logs.exceptions.ResourceNotFoundException:
        pass
    return total, count
