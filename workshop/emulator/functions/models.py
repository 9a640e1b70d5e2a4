"""What the runtime knows of a function and of one invocation of it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["FunctionSpec", "Invocation", "LogSink"]


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
    tracing: str = "PassThrough"  # TracingConfig.Mode: Active records segments (workshop.emulator.tracing)


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
