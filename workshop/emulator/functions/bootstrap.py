"""The Python runtime inside one Lambda execution environment (a worker process).

It does what AWS's runtime interface client does: import the handler once (INIT), then
run invocations one at a time with a context object, AWS's log format and AWS's error
payloads. Module globals therefore survive between invocations, as on AWS.
Started by :mod:`workshop.emulator.functions.runtime`; never imported by the emulator itself.
"""

from __future__ import annotations

import importlib
import importlib.abc
import io
import json
import logging
import os
import resource
import sys
import sysconfig
import time
import traceback
from typing import Any

from workshop.aws.python_runtime import PROVIDED_MODULES
from workshop.aws.xray import LAMBDA_ENVIRONMENT_VARIABLE as TRACE_VARIABLE
from workshop.emulator.functions import protocol as lambda_protocol

TASK_ROOT_ON_AWS = "/var/task"


class _OnlyWhatLambdaProvides(importlib.abc.MetaPathFinder):
    """Refuse top-level imports the real runtime could not satisfy, with AWS's own error.

    The emulator's Python has pandas, powertools and the kit installed; a handler that
    imports them would work here and fail on AWS. Only the standard library, the
    packages above and the function's own code are importable (with no ``task_root``: only
    the first two, as the fork server preloads them)."""

    def __init__(self, task_root: str | None) -> None:
        stdlib = {os.path.realpath(p) for p in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}}
        self._task_root = os.path.realpath(task_root) if task_root else None
        self._allowed_roots = ([self._task_root] if self._task_root else []) + sorted(stdlib)

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if path is not None or name in sys.builtin_module_names or name in PROVIDED_MODULES:
            return None
        spec = None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        if spec is None:
            return None
        locations = [spec.origin] if spec.origin not in (None, "built-in", "frozen") else []
        locations += list(spec.submodule_search_locations or [])
        if spec.origin in ("built-in", "frozen") or (locations and all(self._allowed(p) for p in locations)):
            return spec
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)

    def _allowed(self, location: str) -> bool:
        real = os.path.realpath(location)
        if "site-packages" in real.split(os.sep) and not (self._task_root and real.startswith(self._task_root)):
            return False
        return any(real == root or real.startswith(root + os.sep) for root in self._allowed_roots)


def only_what_lambda_provides(task_root: str | None) -> importlib.abc.MetaPathFinder:
    """The import rule of a handler's worker, for the code in ``task_root``."""
    return _OnlyWhatLambdaProvides(task_root)


class LambdaContext:
    """The context object AWS passes to a Python handler, with the same attribute names."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_arn: str, client_context: Any) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = client_context
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class _LogStream(io.TextIOBase):
    """stdout/stderr of the handler: each complete line becomes a log event, in order."""

    def __init__(self, channel) -> None:
        self._channel = channel
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            lambda_protocol.send(self._channel, {"type": "log", "line": line})
        return len(text)

    def flush(self) -> None:
        if self._pending:
            lambda_protocol.send(self._channel, {"type": "log", "line": self._pending})
            self._pending = ""

    def event(self, text: str) -> None:
        """One log event of several lines, as the runtime writes an error."""
        self.flush()
        lambda_protocol.send(self._channel, {"type": "log", "line": text})


def _error_log_event(payload: dict[str, Any]) -> str:
    """A handler's error as Python's runtime logs it: one event, its lines joined by newlines, each
    stack line's leading spaces turned into no-break spaces (U+00A0), as CloudWatch and LogResult
    show it (the runtime interface client's log_error, github.com/aws/aws-lambda-python-runtime-interface-client)."""
    lines = [f"[ERROR] {payload['errorType']}: {payload['errorMessage']}", "Traceback (most recent call last):"]
    for element in payload["stackTrace"]:
        for line in element.splitlines() or [""]:
            stripped = line.lstrip(" ")
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    return "\n".join(lines)


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _install_logging(stream: io.TextIOBase) -> _RequestIdFilter:
    """The Lambda runtime's root handler: ``[LEVEL]\\t<time>Z\\t<request id>\\t<message>``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
        )
    )
    handler.formatter.converter = time.gmtime
    request_filter = _RequestIdFilter()
    handler.addFilter(request_filter)
    root = logging.getLogger()
    root.handlers = [handler]
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    if level:
        root.setLevel(level.upper())
    return request_filter


def _aws_paths(text: str) -> str:
    """Show the code where AWS shows it (/var/task), never this machine's folders."""
    return text.replace(os.environ["LAMBDA_TASK_ROOT"], TASK_ROOT_ON_AWS)


def _error(error_type: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"errorMessage": _aws_paths(message), "errorType": error_type}
    payload["requestId"] = ""
    payload["stackTrace"] = [_aws_paths(line) for line in (stack or [])]
    return payload


def _handler_error(error: BaseException) -> dict[str, Any]:
    frames = traceback.extract_tb(error.__traceback__)[1:]  # drop the runtime's own frame
    return _error(type(error).__name__, str(error), traceback.format_list(frames))


def _load_handler(spec: str) -> Any:
    """Import ``module.function`` as AWS's runtime does, with AWS's INIT error types."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise _InitError(
            "Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except SyntaxError as error:
        raise _InitError(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {error}",
            traceback.format_exception_only(type(error), error),
        ) from None
    except ImportError as error:
        raise _InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}") from None
    except Exception as error:  # a module that raises while being imported
        raise _InitError(
            type(error).__name__, str(error), traceback.format_list(traceback.extract_tb(error.__traceback__)[1:])
        ) from None
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _InitError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


class _InitError(Exception):
    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.payload = _error(error_type, message, stack)


def _limit_memory() -> None:
    """Cap the heap so a runaway handler gets MemoryError instead of exhausting the machine."""
    limit_mb = int(os.environ.pop("_WORKSHOP_MEMORY_LIMIT_MB", "0"))  # the emulator's, not in AWS's environment
    if limit_mb and hasattr(resource, "RLIMIT_DATA"):
        limit = limit_mb * 1024 * 1024
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        except (ValueError, OSError):
            pass  # platforms that do not enforce it (macOS): the emulator's watchdog remains


def _max_memory_used_mb() -> int:
    """Peak resident memory of this environment. Linux keeps ru_maxrss across exec (it would
    report the emulator's own size), so read the process's high-water mark instead."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak / 1024 / 1024) if sys.platform == "darwin" else int(peak / 1024)


def main() -> None:
    requests, replies = lambda_protocol.open_pair(
        int(os.environ.pop("_WORKSHOP_CONTROL_IN")), int(os.environ.pop("_WORKSHOP_CONTROL_OUT"))
    )
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path[:] = [task_root] + [p for p in sys.path if p not in ("", os.getcwd())]
    sys.meta_path.insert(0, _OnlyWhatLambdaProvides(task_root))
    for loaded in [m for m in sys.modules if m == "workshop" or m.startswith("workshop.")]:
        del sys.modules[loaded]  # the emulator's own package is not part of the runtime
    log_stream = _LogStream(replies)
    sys.stdout = sys.stderr = log_stream
    request_filter = _install_logging(log_stream)

    init_started = time.perf_counter()
    init_error = None
    try:
        _limit_memory()
        handler = _load_handler(os.environ["_HANDLER"])
    except _InitError as error:
        init_error = error.payload
    except MemoryError:
        init_error = _error("Runtime.OutOfMemory", "Runtime exited with error: out of memory during INIT")
    log_stream.flush()
    lambda_protocol.send(replies, {"type": "ready", "init_ms": (time.perf_counter() - init_started) * 1000})

    while True:
        request = lambda_protocol.receive(requests)
        if request is None:
            return
        request_id = request["request_id"]
        request_filter.request_id = request_id
        if init_error:
            init_error["requestId"] = request_id
            lambda_protocol.send(
                replies, {"type": "result", "error": init_error, "fatal": True, "max_memory_mb": _max_memory_used_mb()}
            )
            return  # AWS discards an environment whose INIT failed
        # Lambda's runtime sets the invocation's trace header for the handler (and botocore,
        # which passes it on with every call): https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
        if request.get("trace_header"):
            os.environ[TRACE_VARIABLE] = request["trace_header"]
        else:
            os.environ.pop(TRACE_VARIABLE, None)
        started = time.perf_counter()
        reply = _invoke(handler, request, log_stream)
        log_stream.flush()
        reply.update(
            type="result", duration_ms=(time.perf_counter() - started) * 1000, max_memory_mb=_max_memory_used_mb()
        )
        if reply.get("error"):
            reply["error"]["requestId"] = request_id
        lambda_protocol.send(replies, reply)
        if reply.get("fatal"):
            return


def _invoke(handler: Any, request: dict[str, Any], log_stream: _LogStream) -> dict[str, Any]:
    context = LambdaContext(
        request["request_id"], request["deadline_ms"], request["invoked_arn"], request.get("client_context")
    )
    try:
        event = json.loads(request["event"]) if request["event"] else {}
    except ValueError as error:
        return {"error": _error("Runtime.UnmarshalError", f"Unable to unmarshal input: {error}")}
    try:
        result = handler(event, context)
    except MemoryError:
        return {"error": _error("Runtime.OutOfMemory", "Runtime exited with error: signal: killed"), "fatal": True}
    except Exception as error:
        payload = _handler_error(error)
        log_stream.event(_error_log_event(payload))
        return {"error": payload}
    try:
        return {"payload": json.dumps(result)}
    except (TypeError, ValueError) as error:
        return {"error": _error("Runtime.MarshalError", f"Unable to marshal response: {error}")}


if __name__ == "__main__":
    main()
