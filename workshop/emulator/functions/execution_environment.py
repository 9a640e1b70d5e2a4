"""One warm worker process running one version of one function's code, reused invocation after
invocation (module globals survive, as on AWS) and thrown away after a crash, a timeout or an update."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workshop.emulator.functions import protocol as lambda_protocol
from workshop.emulator.functions.fork_server import ForkServer
from workshop.emulator.functions.models import FunctionSpec, Invocation
from workshop.emulator.functions.sandbox import PACKAGE_ROOT, TASK_ROOT, Sandbox

__all__ = ["RESERVED_ENVIRONMENT", "ExecutionEnvironment", "error_payload", "memory_limit_mb"]

RESERVED_ENVIRONMENT = (
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "_HANDLER",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
# Python, boto3 and the runtime take this much heap before the handler allocates anything.
RUNTIME_HEAP_ALLOWANCE_MB = 192
SPAWN_TIMEOUT_SECONDS = 60
_BOOTSTRAP = f"import sys; sys.path.insert(0, {str(PACKAGE_ROOT)!r}); from workshop.emulator.functions.bootstrap import main; main()"


class ExecutionEnvironment:
    """One worker process for one function revision."""

    def __init__(
        self,
        spec: FunctionSpec,
        task_root: Path,
        endpoint_url: str,
        sandbox: Sandbox | None = None,
        credentials: tuple[str, str] | None = None,
        fork_server: ForkServer | None = None,
    ) -> None:
        self.spec = spec
        self.log_stream = datetime.now(UTC).strftime("%Y/%m/%d") + f"/[{spec.version}]{uuid.uuid4().hex}"
        self._frames: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._invocations = 0
        control_in_r, control_in_w = os.pipe()  # emulator -> worker
        control_out_r, control_out_w = os.pipe()  # worker -> emulator
        env = self._environment(Path(TASK_ROOT) if sandbox else task_root, endpoint_url)
        if credentials:  # a shared emulator's: the function's own key, which reaches its owner's resources
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = credentials
        try:
            if fork_server and not sandbox:  # a sandboxed worker is started by bubblewrap
                self.process: Any = fork_server.spawn(str(task_root), env, control_in_r, control_out_w)
            else:
                env["_WORKSHOP_CONTROL_IN"], env["_WORKSHOP_CONTROL_OUT"] = str(control_in_r), str(control_out_w)
                command = [sys.executable, "-c", _BOOTSTRAP]
                self.process = subprocess.Popen(
                    sandbox.command(command, task_root) if sandbox else command,
                    cwd=task_root,
                    env=env,
                    pass_fds=(control_in_r, control_out_w),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    start_new_session=True,  # a handler's signals and children stay away from the emulator
                )
        except BaseException:
            for fd in (control_in_w, control_out_r):
                os.close(fd)
            raise
        finally:
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
            PATH=os.environ.get("PATH", "/usr/bin:/bin"),
            LANG="en_US.UTF-8",
            TZ=":UTC",
            AWS_LAMBDA_FUNCTION_NAME=spec.name,
            AWS_LAMBDA_FUNCTION_VERSION=spec.version,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(spec.memory_size),
            AWS_LAMBDA_LOG_GROUP_NAME=spec.log_group,
            AWS_LAMBDA_LOG_STREAM_NAME=self.log_stream,
            AWS_LAMBDA_INITIALIZATION_TYPE="on-demand",
            AWS_REGION=spec.region,
            AWS_DEFAULT_REGION=spec.region,
            AWS_EXECUTION_ENV=f"AWS_Lambda_{spec.runtime}",
            LAMBDA_TASK_ROOT=str(task_root),
            LAMBDA_RUNTIME_DIR=str(Path(sys.executable).parent),
            _HANDLER=spec.handler,
            # The execution role's temporary credentials, locally: fake ones for the emulator.
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_SESSION_TOKEN="test",
            AWS_ENDPOINT_URL=endpoint_url,
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
            _WORKSHOP_MEMORY_LIMIT_MB=str(memory_limit_mb(spec.memory_size)),
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

    def invoke(
        self, event: bytes, request_id: str, invoked_arn: str, client_context: Any = None, trace_header: str = ""
    ) -> Invocation:
        """Run one invocation; on timeout or crash the environment is dead afterwards."""
        timeout = self.spec.timeout
        started = time.monotonic()
        deadline = started + timeout
        lines, init_ms = list(self.init_lines), (self.init_ms if self._invocations == 0 else None)
        self.init_lines = []
        self._invocations += 1
        try:
            lambda_protocol.send(
                self._requests,
                {
                    "request_id": request_id,
                    "event": event.decode("utf-8", errors="replace"),
                    "deadline_ms": int((time.time() + timeout) * 1000),
                    "invoked_arn": invoked_arn,
                    "client_context": client_context,
                    "trace_header": trace_header,
                },
            )
        except (BrokenPipeError, OSError):
            pass  # the worker is gone; the reply loop below reports how
        while True:
            try:
                frame = self._next_frame(deadline)
            except TimeoutError:
                self.kill()
                message = f"Task timed out after {timeout:.2f} seconds"
                lines.append(f"{_now_iso()} {request_id} {message}")
                return Invocation(
                    request_id,
                    error_payload("Sandbox.Timedout", f"RequestId: {request_id} Error: {message}"),
                    True,
                    lines,
                    timeout * 1000,
                    init_ms,
                    status="timeout",
                )
            if frame is None:
                code = self.process.wait(timeout=5)
                reason = (
                    f"signal: {signal.Signals(-code).name.lower().removeprefix('sig')}"
                    if code < 0
                    else f"exit status {code}"
                )
                message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
                lines.append(message)
                return Invocation(
                    request_id,
                    error_payload("Runtime.ExitError", message),
                    True,
                    lines,
                    (time.monotonic() - started) * 1000,
                    init_ms,
                    status="crash",
                )
            if frame["type"] == "log":
                lines.append(frame["line"])
                continue
            if frame["type"] != "result":
                continue
            if frame.get("fatal"):
                self.kill()
            if "error" in frame:
                return Invocation(
                    request_id,
                    json.dumps(frame["error"]).encode(),
                    True,
                    lines,
                    frame.get("duration_ms", 0.0),
                    init_ms,
                    frame.get("max_memory_mb", 0),
                    "error",
                )
            return Invocation(
                request_id,
                frame["payload"].encode(),
                False,
                lines,
                frame["duration_ms"],
                init_ms,
                frame.get("max_memory_mb", 0),
            )

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


def memory_limit_mb(memory_size: int) -> int:
    """A worker's heap limit: the function's memory and the runtime's own, but never more than
    this machine has free when the worker starts (a 10,240 MB function on an 8 GB laptop)."""
    return min(memory_size + RUNTIME_HEAP_ALLOWANCE_MB, _available_memory_mb())


def _available_memory_mb() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    try:  # elsewhere: the physical memory, which is all a process could be given
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)
    except (ValueError, OSError):
        return 1 << 30  # unknown: no cap beyond the function's own


def error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
