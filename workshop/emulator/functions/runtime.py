"""Run Lambda functions for real, without Docker: one warm worker process per environment.

An :class:`ExecutionEnvironment` is one worker process running one version of one
function's code; it is reused for invocation after invocation (so module globals
survive, as on AWS) and thrown away after a crash, a timeout or a code/config update.
:class:`LambdaRuntime` keeps a pool of environments per function, up to a concurrency
limit, and turns every way a handler can fail into AWS's answer for it. Nothing a
handler does (raise, hang, exit, eat memory) can take the emulator down with it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from workshop.emulator.functions import protocol as lambda_protocol

RESERVED_ENVIRONMENT = (
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "_HANDLER", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
)
# Python, boto3 and the runtime take this much heap before the handler allocates anything.
RUNTIME_HEAP_ALLOWANCE_MB = 192
SPAWN_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class FunctionSpec:
    """What the runtime needs to know of one function version."""

    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    code_sha256: str
    revision: str  # changes with every code or configuration update
    account: str
    region: str
    log_group: str
    code_zip: Callable[[], bytes] = field(compare=False, repr=False)


@dataclass
class Invocation:
    """The outcome of one invocation, with everything the Invoke API and the logs need."""

    request_id: str
    payload: bytes
    function_error: bool
    log_lines: list[str]
    duration_ms: float
    init_ms: float | None = None
    max_memory_mb: int = 0
    status: str = "success"  # success | error | timeout | crash

    def log_tail(self) -> str:
        """The last 4 KB of this invocation's log, base64, as X-Amz-Log-Result carries it."""
        text = "".join(line + "\n" for line in self.log_lines).encode()
        return base64.b64encode(text[-4096:]).decode()


LogSink = Callable[[FunctionSpec, str, list[tuple[int, str]]], None]  # spec, stream, [(ms, message)]


class ExecutionEnvironment:
    """One worker process for one function revision."""

    def __init__(self, spec: FunctionSpec, task_root: Path, endpoint_url: str) -> None:
        self.spec = spec
        self.log_stream = datetime.now(timezone.utc).strftime("%Y/%m/%d") + f"/[{spec.version}]{uuid.uuid4().hex}"
        self._frames: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._invocations = 0
        control_in_r, control_in_w = os.pipe()  # emulator -> worker
        control_out_r, control_out_w = os.pipe()  # worker -> emulator
        env = self._environment(task_root, endpoint_url)
        env["_WORKSHOP_CONTROL_IN"], env["_WORKSHOP_CONTROL_OUT"] = str(control_in_r), str(control_out_w)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from workshop.emulator.functions.bootstrap import main; main()"],
            cwd=task_root, env=env, pass_fds=(control_in_r, control_out_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True,  # a handler's signals and children stay away from the emulator
        )
        os.close(control_in_r)
        os.close(control_out_w)
        self._requests = os.fdopen(control_in_w, "wb", buffering=0)
        self._replies = os.fdopen(control_out_r, "rb", buffering=0)
        threading.Thread(target=self._read_frames, daemon=True, name=f"lambda-{spec.name}").start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.init_ms: float | None = None
        self.init_lines: list[str] = []

    def _environment(self, task_root: Path, endpoint_url: str) -> dict[str, str]:
        spec = self.spec
        env = {k: v for k, v in spec.environment.items() if k not in RESERVED_ENVIRONMENT}
        env.update(
            PATH=os.environ.get("PATH", "/usr/bin:/bin"), LANG="en_US.UTF-8", TZ=":UTC",
            AWS_LAMBDA_FUNCTION_NAME=spec.name, AWS_LAMBDA_FUNCTION_VERSION=spec.version,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(spec.memory_size), AWS_LAMBDA_LOG_GROUP_NAME=spec.log_group,
            AWS_LAMBDA_LOG_STREAM_NAME=self.log_stream, AWS_LAMBDA_INITIALIZATION_TYPE="on-demand",
            AWS_REGION=spec.region, AWS_DEFAULT_REGION=spec.region,
            AWS_EXECUTION_ENV=f"AWS_Lambda_{spec.runtime}", LAMBDA_TASK_ROOT=str(task_root),
            LAMBDA_RUNTIME_DIR=str(Path(sys.executable).parent), _HANDLER=spec.handler,
            # The execution role's temporary credentials, locally: fake ones for the emulator.
            AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_SESSION_TOKEN="test",
            AWS_ENDPOINT_URL=endpoint_url, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1",
            _WORKSHOP_MEMORY_LIMIT_MB=str(spec.memory_size + RUNTIME_HEAP_ALLOWANCE_MB),
        )
        return env

    def _read_frames(self) -> None:
        while True:
            frame = lambda_protocol.receive(self._replies)
            self._frames.put(frame)
            if frame is None:
                return

    def _drain_stderr(self) -> None:
        """Output written below Python (C libraries, os.write) still reaches the log, best effort."""
        for raw in iter(self.process.stderr.readline, b""):
            self._frames.put({"type": "log", "line": raw.decode(errors="replace").rstrip("\n")})

    def start(self) -> None:
        """Wait for INIT: the handler module imported (or failed to import)."""
        deadline = time.monotonic() + SPAWN_TIMEOUT_SECONDS
        while True:
            frame = self._next_frame(deadline)
            if frame is None or frame["type"] == "ready":
                break
            if frame["type"] == "log":
                self.init_lines.append(frame["line"])
        self.init_ms = frame["init_ms"] if frame else None

    def _next_frame(self, deadline: float) -> dict[str, Any] | None:
        try:
            return self._frames.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError from None

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def invoke(self, event: bytes, request_id: str, invoked_arn: str, client_context: Any = None) -> Invocation:
        """Run one invocation; on timeout or crash the environment is dead afterwards."""
        timeout = self.spec.timeout
        started = time.monotonic()
        deadline = started + timeout
        lines, init_ms = list(self.init_lines), (self.init_ms if self._invocations == 0 else None)
        self.init_lines = []
        self._invocations += 1
        try:
            lambda_protocol.send(self._requests, {
                "request_id": request_id, "event": event.decode("utf-8", errors="replace"),
                "deadline_ms": int((time.time() + timeout) * 1000), "invoked_arn": invoked_arn,
                "client_context": client_context,
            })
        except (BrokenPipeError, OSError):
            pass  # the worker is gone; the reply loop below reports how
        while True:
            try:
                frame = self._next_frame(deadline)
            except TimeoutError:
                self.kill()
                message = f"Task timed out after {timeout:.2f} seconds"
                lines.append(f"{_now_iso()} {request_id} {message}")
                return Invocation(request_id, _error_payload("Sandbox.Timedout", f"RequestId: {request_id} Error: "
                                  f"{message}"), True, lines, timeout * 1000, init_ms, status="timeout")
            if frame is None:
                code = self.process.wait(timeout=5)
                reason = f"signal: {signal.Signals(-code).name.lower().removeprefix('sig')}" if code < 0 \
                    else f"exit status {code}"
                message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
                lines.append(message)
                return Invocation(request_id, _error_payload("Runtime.ExitError", message), True, lines,
                                  (time.monotonic() - started) * 1000, init_ms, status="crash")
            if frame["type"] == "log":
                lines.append(frame["line"])
                continue
            if frame["type"] != "result":
                continue
            if frame.get("fatal"):
                self.kill()
            if "error" in frame:
                return Invocation(request_id, json.dumps(frame["error"]).encode(), True, lines,
                                  frame.get("duration_ms", 0.0), init_ms, frame.get("max_memory_mb", 0), "error")
            return Invocation(request_id, frame["payload"].encode(), False, lines, frame["duration_ms"], init_ms,
                              frame.get("max_memory_mb", 0))

    def kill(self) -> None:
        if self.alive:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # the handler's children too
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self._requests, self._replies):
            try:
                stream.close()
            except OSError:
                pass


def _error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _FunctionPool:
    """The environments of one function revision: reuse an idle one, else start one up to the limit."""

    def __init__(self, spec: FunctionSpec, task_root: Path, endpoint_url: str, limit: int) -> None:
        self.spec = spec
        self._task_root, self._endpoint_url, self._limit = task_root, endpoint_url, limit
        self._idle: list[ExecutionEnvironment] = []
        self._busy = 0
        self._condition = threading.Condition()
        self.retired = False

    def acquire(self) -> ExecutionEnvironment:
        with self._condition:
            while True:
                while self._idle:
                    environment = self._idle.pop()
                    if environment.alive:
                        self._busy += 1
                        return environment
                if self._busy < self._limit:
                    self._busy += 1
                    break
                self._condition.wait()
        try:
            environment = ExecutionEnvironment(self.spec, self._task_root, self._endpoint_url)
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
                    self._idle.append(environment)
                else:
                    environment.kill()
            self._condition.notify()

    def retire(self) -> None:
        """No new work: idle environments stop now, busy ones when they finish."""
        with self._condition:
            self.retired = True
            idle, self._idle = self._idle, []
        for environment in idle:
            environment.kill()


class LambdaRuntime:
    """Every function's environments; the single entry point to run a function."""

    def __init__(self, endpoint_url: str, work_dir: Path, log_sink: LogSink, concurrency_per_function: int = 4) -> None:
        self.endpoint_url = endpoint_url
        self._work_dir = work_dir
        self._log_sink = log_sink
        self._concurrency = concurrency_per_function
        self._pools: dict[str, _FunctionPool] = {}
        self._lock = threading.Lock()

    def invoke(self, spec: FunctionSpec, event: bytes, invoked_arn: str | None = None,
               client_context: Any = None, request_id: str | None = None,
               injected_failure: str | None = None) -> Invocation:
        """Run the function once. ``injected_failure`` (a teaching switch) reports a
        successful run as failed, the way a lost response or a late timeout does on AWS."""
        request_id = request_id or str(uuid.uuid4())
        if not spec.runtime.startswith("python"):
            message = (f"The embedded emulator runs Python handlers only; runtime {spec.runtime} is not emulated. "
                       "Use a python3.x runtime, or a real AWS account.")
            result = Invocation(request_id, _error_payload("Runtime.InvalidRuntime", message), True, [message], 0.0,
                                status="error")
            self._write_logs(spec, "unsupported-runtime", result)
            return result
        pool = self._pool(spec)
        environment = pool.acquire()
        try:
            result = environment.invoke(event, request_id, invoked_arn or spec.arn, client_context)
        finally:
            pool.release(environment)
        if injected_failure and not result.function_error:
            result.payload = _error_payload("Workshop.InjectedFailure", injected_failure)
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
            pool = _FunctionPool(spec, self._task_root(spec), self.endpoint_url, self._concurrency)
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
        """A deleted function: stop its environments (they are processes, not just memory)."""
        with self._lock:
            gone = [arn for arn, pool in self._pools.items() if pool.spec.name == function_name]
            pools = [self._pools.pop(arn) for arn in gone]
        for pool in pools:
            pool.retire()

    def shutdown(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.retire()

    def _write_logs(self, spec: FunctionSpec, stream: str, result: Invocation) -> None:
        now = int(time.time() * 1000)
        start = now - int(result.duration_ms)
        billed = max(1, int(-(-result.duration_ms // 1)))
        report = (f"REPORT RequestId: {result.request_id}\tDuration: {result.duration_ms:.2f} ms\t"
                  f"Billed Duration: {billed} ms\tMemory Size: {spec.memory_size} MB\t"
                  f"Max Memory Used: {result.max_memory_mb} MB")
        if result.init_ms is not None:
            report += f"\tInit Duration: {result.init_ms:.2f} ms"
        if result.status in ("timeout", "crash"):
            report += f"\tStatus: {result.status}"
        events = [(start, f"START RequestId: {result.request_id} Version: {spec.version}")]
        events += [(start, line) for line in result.log_lines]
        events += [(now, f"END RequestId: {result.request_id}"), (now, report)]
        result.log_lines = [message for _, message in events]
        self._log_sink(spec, stream, events)
