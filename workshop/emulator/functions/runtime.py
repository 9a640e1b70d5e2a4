"""Run Lambda functions for real, without Docker: one warm worker process per environment.

An :class:`ExecutionEnvironment` is one worker process running one version of one
function's code; it is reused for invocation after invocation (so module globals
survive, as on AWS) and thrown away after a crash, a timeout or a code/config update.
:class:`LambdaRuntime` keeps a pool of environments per function, up to a concurrency
limit, and turns every way a handler can fail into AWS's answer for it. Nothing a
handler does (raise, hang, exit, eat memory) can take the emulator down with it.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workshop.emulator.functions import fork_server
from workshop.emulator.functions.execution_environment import ExecutionEnvironment, error_payload
from workshop.emulator.functions.fork_server import ForkServer
from workshop.emulator.functions.models import FunctionSpec, Invocation, LogSink
from workshop.emulator.functions.sandbox import Sandbox

__all__ = ["FunctionSpec", "Invocation", "LambdaRuntime"]


class _FunctionPool:
    """The environments of one function revision: reuse an idle one, else start one up to the limit."""

    def __init__(
        self,
        spec: FunctionSpec,
        task_root: Path,
        endpoint_url: str,
        limit: int,
        sandbox: Sandbox | None,
        credentials: tuple[str, str] | None = None,
        fork_server: ForkServer | None = None,
    ) -> None:
        self.spec = spec
        self._task_root, self._endpoint_url, self._limit = task_root, endpoint_url, limit
        self._sandbox = sandbox
        self._credentials = credentials
        self._fork_server = fork_server
        self._idle: list[tuple[float, ExecutionEnvironment]] = []  # (released at, monotonic), newest last
        self._busy = 0
        self._condition = threading.Condition()
        self.retired = False

    def acquire(self) -> ExecutionEnvironment:
        with self._condition:
            while True:
                while self._idle:
                    _, environment = self._idle.pop()
                    if environment.alive:
                        self._busy += 1
                        return environment
                if self._busy < self._limit:
                    self._busy += 1
                    break
                self._condition.wait()
        try:
            environment = ExecutionEnvironment(
                self.spec, self._task_root, self._endpoint_url, self._sandbox, self._credentials, self._fork_server
            )
            environment.start()
            return environment
        except BaseException:
            self.release(None)
            raise

    def release(self, environment: ExecutionEnvironment | None) -> None:
        with self._condition:
            self._busy -= 1
            if environment is not None:
                if environment.alive and not self.retired:
                    self._idle.append((time.monotonic(), environment))
                else:
                    environment.kill()
            self._condition.notify()

    def retire(self) -> None:
        """No new work: idle environments stop now, busy ones when they finish."""
        with self._condition:
            self.retired = True
            idle, self._idle = self._idle, []
        for _, environment in idle:
            environment.kill()

    def reap(self, idle_since: float) -> int:
        """Stop the environments idle since before ``idle_since`` (monotonic); how many stopped."""
        with self._condition:
            stale = [environment for released, environment in self._idle if released < idle_since]
            self._idle = [(released, environment) for released, environment in self._idle if released >= idle_since]
        for environment in stale:
            environment.kill()
        return len(stale)


class LambdaRuntime:
    """Every function's environments; the single entry point to run a function."""

    def __init__(
        self,
        endpoint_url: str,
        work_dir: Path,
        log_sink: LogSink,
        concurrency_per_function: int = 4,
        idle_seconds: float = 300.0,
        fork_workers: bool = True,
    ) -> None:
        self.endpoint_url = endpoint_url
        self._work_dir = work_dir
        self._log_sink = log_sink
        self._concurrency = concurrency_per_function
        self._pools: dict[str, _FunctionPool] = {}
        self._lock = threading.Lock()
        self._idle_seconds = idle_seconds
        self._stopping = threading.Event()
        self.reaped = 0  # environments stopped for being idle, for the emulator's stats
        # Workers start in this sandbox when set (the server sets it before serving anyone);
        # otherwise forked from a warm parent where the platform allows.
        self.sandbox: Sandbox | None = None
        self.fork_server = ForkServer() if fork_workers and fork_server.available() else None
        # A shared emulator's handlers sign with their function's own key (see emulator.identity).
        self.credentials: Callable[[FunctionSpec], tuple[str, str]] | None = None
        threading.Thread(target=self._reap_idle, name="lambda-reaper", daemon=True).start()

    def _reap_idle(self) -> None:
        """Stop warm workers nobody has invoked for ``idle_seconds``: a class's afternoon keeps
        only the environments in use, not every one the morning started."""
        while not self._stopping.wait(max(0.2, min(30.0, self._idle_seconds / 4))):
            with self._lock:
                pools = list(self._pools.values())
            for pool in pools:
                self.reaped += pool.reap(time.monotonic() - self._idle_seconds)

    def invoke(
        self,
        spec: FunctionSpec,
        event: bytes,
        invoked_arn: str | None = None,
        client_context: Any = None,
        request_id: str | None = None,
        injected_failure: str | None = None,
        trace_header: str = "",
    ) -> Invocation:
        """Run the function once. ``injected_failure`` (a teaching switch) reports a
        successful run as failed, the way a lost response or a late timeout does on AWS;
        ``trace_header`` is the handler's ``_X_AMZN_TRACE_ID``."""
        request_id = request_id or str(uuid.uuid4())
        if not spec.runtime.startswith("python"):
            message = (
                f"The embedded emulator runs Python handlers only; runtime {spec.runtime} is not emulated. "
                "Use a python3.x runtime, or a real AWS account."
            )
            result = Invocation(
                request_id, error_payload("Runtime.InvalidRuntime", message), True, [message], 0.0, status="error"
            )
            self._write_logs(spec, "unsupported-runtime", result)
            return result
        pool = self._pool(spec)
        environment = pool.acquire()
        try:
            result = environment.invoke(event, request_id, invoked_arn or spec.arn, client_context, trace_header)
        finally:
            pool.release(environment)
        if injected_failure and not result.function_error:
            result.payload = error_payload("Workshop.InjectedFailure", injected_failure)
            result.function_error, result.status = True, "error"
            result.log_lines.append(f"[ERROR] Workshop.InjectedFailure: {injected_failure}")
        self._write_logs(spec, environment.log_stream, result)
        return result

    def _pool(self, spec: FunctionSpec) -> _FunctionPool:
        with self._lock:
            pool = self._pools.get(spec.arn)
            if pool is not None and pool.spec.revision == spec.revision:
                return pool
            if pool is not None:
                pool.retire()  # an update: AWS starts fresh environments for the new code
            credentials = self.credentials(spec) if self.credentials else None
            pool = _FunctionPool(
                spec,
                self._task_root(spec),
                self.endpoint_url,
                self._concurrency,
                self.sandbox,
                credentials,
                self.fork_server,
            )
            self._pools[spec.arn] = pool
            return pool

    def _task_root(self, spec: FunctionSpec) -> Path:
        """The function's code unpacked once per code hash (the equivalent of /var/task)."""
        digest = hashlib.sha256(spec.code_sha256.encode()).hexdigest()[:16]
        root = self._work_dir / spec.name / digest
        if not root.exists():
            partial = root.with_name(root.name + f".{uuid.uuid4().hex[:6]}")
            with zipfile.ZipFile(io.BytesIO(spec.code_zip())) as archive:
                archive.extractall(partial)  # extractall refuses absolute and ../ member names
            try:
                partial.rename(root)
            except OSError:  # another thread unpacked the same code first
                shutil.rmtree(partial, ignore_errors=True)
        return root

    def forget(self, function_name: str) -> None:
        """A deleted function: stop its environments (they are processes, not just memory) and
        remove its unpacked code (up to 250 MB a version)."""
        with self._lock:
            gone = [arn for arn, pool in self._pools.items() if pool.spec.name == function_name]
            pools = [self._pools.pop(arn) for arn in gone]
        for pool in pools:
            pool.retire()
        shutil.rmtree(self._work_dir / function_name, ignore_errors=True)

    def shutdown(self) -> None:
        self._stopping.set()
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.retire()
        if self.fork_server:
            self.fork_server.stop()

    def _write_logs(self, spec: FunctionSpec, stream: str, result: Invocation) -> None:
        now = int(time.time() * 1000)
        start = now - int(result.duration_ms)
        billed = max(1, int(-(-result.duration_ms // 1)))
        report = (
            f"REPORT RequestId: {result.request_id}\tDuration: {result.duration_ms:.2f} ms\t"
            f"Billed Duration: {billed} ms\tMemory Size: {spec.memory_size} MB\t"
            f"Max Memory Used: {result.max_memory_mb} MB"
        )
        if result.init_ms is not None:
            report += f"\tInit Duration: {result.init_ms:.2f} ms"
        if result.status in ("timeout", "crash"):
            report += f"\tStatus: {result.status}"
        events = [(start, f"START RequestId: {result.request_id} Version: {spec.version}")]
        events += [(start, line) for line in result.log_lines]
        events += [(now, f"END RequestId: {result.request_id}"), (now, report)]
        result.log_lines = [message for _, message in events]
        self._log_sink(spec, stream, events)
