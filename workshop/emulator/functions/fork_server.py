"""Lambda workers forked from a warm parent instead of started from nothing.

A new Python process spends most of a cold start importing what AWS's Python runtime provides
(boto3 and botocore: about 0.1 s and 30 MB each time). The fork server is one process that
imports them once, under the same rule a handler imports under (only what the runtime provides:
:mod:`workshop.aws.python_runtime`), then forks a worker per execution environment on request.
A worker starts in milliseconds, and the pages it inherited stay shared with its siblings
until one of them writes to them.

The emulator talks to it over a Unix socket: a request carries the worker's folder and
environment, and its three descriptors (control in, control out, stderr) as ancillary data;
the server answers with the worker's pid, and later with its exit status (it is the workers'
parent, so only it can collect them). Used on Linux for workers outside the sandbox; a
sandboxed worker is started by bubblewrap, and macOS's system libraries are not safe to fork
once loaded, so there workers start as before.
"""

from __future__ import annotations

import array
import json
import os
import queue
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["ForkServer", "WorkerProcess", "available", "serve"]

PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])
_MESSAGE_BYTES = 1 << 20  # a request: the worker's environment, its folder
_PRELOADED = ("boto3", "botocore.session", "botocore.client", "json", "logging", "decimal", "uuid", "datetime")
# The services the kit's handlers call (and the resources they use), parsed once for every worker
_HANDLER_CLIENTS = ("s3", "dynamodb", "sqs", "sns", "dynamodbstreams", "lambda", "cloudwatch", "kms")
_HANDLER_RESOURCES = ("dynamodb", "s3")


def available() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "AF_UNIX")


class WorkerProcess:
    """A forked worker as the runtime uses a ``subprocess.Popen``: pid, stderr, poll, wait, kill."""

    def __init__(self, pid: int, stderr: Any) -> None:
        self.pid, self.stderr = pid, stderr
        self.returncode: int | None = None
        self._exited = threading.Event()

    def _exit(self, code: int) -> None:
        self.returncode = code
        self._exited.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class ForkServer:
    """The emulator's side: starts the server process on first use, forks workers through it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._process: subprocess.Popen | None = None
        self._registry = threading.Lock()  # the workers, between the reader and spawn
        self._workers: dict[int, WorkerProcess] = {}
        self._early_exits: dict[int, int] = {}  # an exit read before its fork's answer
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def start(self) -> None:
        """Start the server now (it takes a fraction of a second) rather than at the first cold start."""
        with self._lock:
            self._ensure_started()

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = (
            f"import sys; sys.path.insert(0, {PACKAGE_ROOT!r}); "
            f"from workshop.emulator.functions.fork_server import serve; serve({theirs.fileno()})"
        )
        self._process = subprocess.Popen(
            [sys.executable, "-c", command],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            # its own environment (a worker's replaces it): no host AWS files read while it parses models
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONDONTWRITEBYTECODE": "1",
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            },
            start_new_session=True,  # a Ctrl-C in the emulator's terminal is the emulator's to handle
        )
        theirs.close()
        self._socket = ours
        self._answers = queue.Queue()
        threading.Thread(target=self._read, args=(ours, self._answers), daemon=True, name="fork-server").start()

    def _read(self, sock: socket.socket, answers: queue.Queue[dict[str, Any] | None]) -> None:
        while True:
            try:
                data = sock.recv(_MESSAGE_BYTES)
            except OSError:
                data = b""
            if not data:  # the server is gone: nobody could collect its workers, so they end
                answers.put(None)
                with self._registry:
                    orphans, self._workers = list(self._workers.values()), {}
                for worker in orphans:
                    worker.kill()
                    worker._exit(-signal.SIGKILL)
                return
            message = json.loads(data)
            if "exited" not in message:
                answers.put(message)
                continue
            with self._registry:
                worker = self._workers.pop(message["exited"], None)
                if worker is None:
                    self._early_exits[message["exited"]] = message["code"]
            if worker is not None:
                worker._exit(message["code"])

    def spawn(self, cwd: str, env: dict[str, str], control_in: int, control_out: int) -> WorkerProcess:
        """Fork a worker that runs the bootstrap with these pipes, in ``cwd`` with exactly ``env``."""
        stderr_read, stderr_write = os.pipe()
        try:
            with self._lock:
                self._ensure_started()
                assert self._socket is not None
                request = json.dumps({"cwd": cwd, "env": env}).encode()
                fds = array.array("i", [control_in, control_out, stderr_write])
                self._socket.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
                answer = self._answers.get(timeout=30)
                if answer is None or "pid" not in answer:
                    raise OSError(f"the fork server could not start a worker: {answer}")
                worker = WorkerProcess(answer["pid"], os.fdopen(stderr_read, "rb"))
                with self._registry:
                    early = self._early_exits.pop(worker.pid, None)
                    if early is None:
                        self._workers[worker.pid] = worker
                if early is not None:
                    worker._exit(early)
                return worker
        except BaseException:
            os.close(stderr_read)
            raise
        finally:
            os.close(stderr_write)

    def stop(self) -> None:
        with self._lock:
            if self._socket is not None:
                # The server exits at end of file. close() alone sends none while the reader
                # thread is blocked in recv on the socket (the kernel keeps it open for that
                # call): the stop then waited out its five seconds. shutdown() ends it at once.
                try:
                    self._socket.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # the server is gone already
                self._socket.close()
            if self._process is not None:
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()


# ---- the server process -------------------------------------------------------------------


def serve(fd: int) -> None:
    """The fork server's loop: preload, then fork a worker per request and report its exit."""
    try:
        _serve(socket.socket(fileno=fd))
    except (ConnectionResetError, BrokenPipeError):
        return  # the emulator was killed (a crash, SIGKILL): nothing is left to serve or tell


def _serve(sock: socket.socket) -> None:
    _preload()
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a child's exit writes to the wakeup pipe
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ, "request")
    selector.register(wake_read, selectors.EVENT_READ, "exit")
    while True:
        for key, _ in selector.select():
            if key.data == "exit":
                os.read(wake_read, 4096)
                _report_exits(sock)
                continue
            data, ancillary, _, _ = sock.recvmsg(_MESSAGE_BYTES, socket.CMSG_SPACE(3 * 4))
            if not data:
                return  # the emulator is gone; its workers end when their pipes close
            fds = array.array("i")
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            pid = os.fork()
            if pid == 0:
                selector.close()
                for inherited in (sock.fileno(), wake_read, wake_write):
                    os.close(inherited)
                _become_worker(json.loads(data), list(fds))
            for received in fds:
                os.close(received)
            sock.send(json.dumps({"pid": pid}).encode())
            _report_exits(sock)


def _report_exits(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        sock.send(json.dumps({"exited": pid, "code": os.waitstatus_to_exitcode(status)}).encode())


def _preload() -> None:
    """Import what the runtime provides, refusing what it does not, as a handler's imports are
    refused (botocore tries certifi and would keep it: a handler could then import it here and
    not on AWS); then keep the preloaded objects out of the collector's way, so forked workers
    do not copy the pages it would touch."""
    import gc
    import importlib

    from workshop.emulator.functions import bootstrap

    guard = bootstrap.only_what_lambda_provides(None)
    sys.meta_path.insert(0, guard)
    try:
        for module in _PRELOADED:
            importlib.import_module(module)
        _parse_service_models_once()
    finally:
        sys.meta_path.remove(guard)
    gc.collect()
    gc.freeze()


def _parse_service_models_once() -> None:
    """Read the botocore data a handler's first clients need (service models, endpoint rules,
    partitions) here, once: a worker's first ``boto3.client("s3")`` otherwise spends about 0.1 s
    of CPU reading and parsing that JSON, in every execution environment. Each botocore session
    a worker creates gets its own loader, its cache filled from this one; its configuration and
    credentials are still read in the worker, from the worker's environment. A session with a
    data path of its own (``AWS_DATA_PATH``) starts empty, as before."""
    import boto3.session
    import botocore.session

    session = boto3.session.Session(
        aws_access_key_id="warm-up", aws_secret_access_key="warm-up", region_name="us-east-1"
    )
    for service in _HANDLER_CLIENTS:
        session.client(service)
    for service in _HANDLER_RESOURCES:
        session.resource(service)
    parsed = session._session.get_component("data_loader")._cache
    create_loader = botocore.session.create_loader

    def loader_with_parsed_models(search_path_string: str | None = None) -> Any:
        loader = create_loader(search_path_string)
        if search_path_string is None:
            loader._cache = dict(parsed)  # the session's own cache, starting full
        return loader

    botocore.session.create_loader = loader_with_parsed_models


def _become_worker(request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: the process a fresh ``python -c bootstrap`` would have been."""
    code = 1
    try:
        control_in, control_out, stderr = fds
        os.setsid()  # a handler's signals and children stay away from the emulator
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(stderr, 2)
        for spare in (devnull, stderr):
            os.close(spare)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["_WORKSHOP_CONTROL_IN"], os.environ["_WORKSHOP_CONTROL_OUT"] = str(control_in), str(control_out)
        time.tzset()
        sys.dont_write_bytecode = True
        from workshop.emulator.functions import bootstrap

        bootstrap.main()
        code = 0
    except SystemExit as exit_:  # a handler's sys.exit(n) ends its worker with n, as in a process of its own
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
        except BaseException:
            pass
        os._exit(code)
