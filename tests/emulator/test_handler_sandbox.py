"""A shared emulator runs everyone's handlers in a sandbox; every emulator keeps Lambda's limits.

Each attack is a handler doing what a participant could do to an instructor's emulator: read its
environment, its user's files, another participant's code; leave a process behind; fork without
end. The sandboxed emulator here is forced on loopback (``WORKSHOP_SANDBOX_HANDLERS=on``), which
is how it runs beyond loopback.
"""

from __future__ import annotations

import io
import json
import socket
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import emulator_process, local_environment, run_script
from tests.lambda_helpers import deploy_source, invoke, ready_names
from workshop.account import deploy
from workshop.core import backend as backends
from workshop.core.errors import WorkshopError
from workshop.core.launcher import free_port
from workshop.emulator.functions import execution_environment, sandbox

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the handler sandbox is Linux's")

SECRET = f"emulator-secret-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[backends.Backend]:
    """An emulator whose handlers run in the sandbox, with a secret in its own environment."""
    settings = {"WORKSHOP_SANDBOX_HANDLERS": "on", "WORKSHOP_TEST_SECRET": SECRET}
    with emulator_process(tmp_path_factory.mktemp("sandboxed"), settings=settings) as env:
        yield backends.Backend(backends.EMBEDDED, f"http://127.0.0.1:{env['WORKSHOP_PORT']}", backends.LOCAL_REGION)


def _run(backend: backends.Backend, prefix: str, source: str, event: object = None, **options: object) -> object:
    names = ready_names(backend, prefix)
    deploy_source(backend, names, "probe", source, **options)
    response, body = invoke(backend, names.function("probe"), event)
    assert "FunctionError" not in response, body
    return body


READ_ENVIRONMENTS = """
import os
def handler(event, context):
    found, readable = [], 0
    pids = {str(os.getppid()), "1"} | {p for p in os.listdir("/proc") if p.isdigit()}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/environ", "rb") as environ:
                readable += 1
                if event["secret"].encode() in environ.read():
                    found.append(pid)
        except OSError:
            pass
    return {"found": found, "readable": readable}
"""


def test_a_handler_cannot_read_the_emulators_environment(shared, prefix):
    body = _run(shared, prefix, READ_ENVIRONMENTS, {"secret": SECRET})
    assert body["readable"] >= 1, "the handler reads its own environment, so the probe works"
    assert body["found"] == [], "the emulator's environment reached a handler through /proc"


READ_FILES = """
def handler(event, context):
    seen = {}
    for path in event["paths"]:
        try:
            with open(path) as file:
                seen[path] = file.read()
        except OSError as error:
            seen[path] = type(error).__name__
    return seen
"""


def test_a_handler_cannot_read_the_emulator_users_home(shared, prefix):
    secret_file = Path.home() / f".workshop-sandbox-test-{uuid.uuid4().hex}"
    secret_file.write_text(SECRET)
    try:
        body = _run(shared, prefix, READ_FILES, {"paths": [str(secret_file), "/etc/shadow"]})
    finally:
        secret_file.unlink()
    assert SECRET not in json.dumps(body), "a handler read a file in the emulator user's home"
    assert body["/etc/shadow"] in ("FileNotFoundError", "PermissionError")


def test_a_handler_cannot_read_another_functions_code(shared, prefix):
    other = ready_names(shared, prefix + "o")
    deploy_source(shared, other, "victim", f"SECRET = {SECRET!r}\ndef handler(event, context):\n    return 'mine'\n")
    assert invoke(shared, other.function("victim"))[1] == "mine"  # its code is unpacked now
    unpacked = sorted(Path(tempfile.gettempdir()).glob(f"workshop-lambda-*/{other.function('victim')}/*/app.py"))
    assert unpacked, "the victim's code is unpacked on this machine, where the attacker looks for it"
    body = _run(shared, prefix, READ_FILES, {"paths": [str(path) for path in unpacked]})
    assert SECRET not in json.dumps(body), "a handler read another function's code"


SETSID_CHILD = """
import os, socket, time
def handler(event, context):
    parent = os.getpid()
    if os.fork() == 0:
        os.setsid()
        socket.create_connection(("127.0.0.1", event["port"])).sendall(b"started")
        while os.getppid() == parent:  # until the handler's process is gone
            time.sleep(0.05)
        socket.create_connection(("127.0.0.1", event["port"])).sendall(b"alive")
        os._exit(0)
    time.sleep(60)
"""


def test_a_setsid_child_ends_with_the_handlers_timeout(shared, prefix):
    names = ready_names(shared, prefix)
    deploy_source(shared, names, "leaver", SETSID_CHILD, timeout=1)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        response, body = invoke(shared, names.function("leaver"), {"port": listener.getsockname()[1]})
        assert body["errorType"] == "Sandbox.Timedout", body
        listener.settimeout(2)
        heard = []
        try:
            while True:
                connection, _ = listener.accept()
                with connection:
                    connection.settimeout(2)
                    heard.append(connection.recv(16))
        except TimeoutError:
            pass
    assert heard[:1] == [b"started"], "the child ran"
    assert b"alive" not in heard, "a setsid child outlived its handler's timeout"


FORK_LOOP = """
import os, time
def handler(event, context):
    children = 0
    try:
        while children < 3000:
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            children += 1
    except OSError as error:
        return {"children": children, "errno": error.errno}
    return {"children": children, "errno": None}
"""


def test_a_fork_loop_stops_at_lambdas_process_limit(shared, prefix):
    body = _run(shared, prefix, FORK_LOOP, timeout=30)
    assert body["errno"] == 11 and body["children"] < sandbox.PROCESSES, body  # EAGAIN
    shared.client("lambda").delete_function(FunctionName=ready_names(shared, prefix).function("probe"))


LIKE_AWS = """
import os, boto3
def handler(event, context):
    with open("/tmp/scratch", "w") as scratch:
        scratch.write("ok")
    return {"cwd": os.getcwd(), "task_root": os.environ["LAMBDA_TASK_ROOT"], "tmp": open("/tmp/scratch").read(),
            "buckets": boto3.client("s3").list_buckets()["ResponseMetadata"]["HTTPStatusCode"]}
"""


def test_a_sandboxed_handler_still_has_its_code_tmp_boto3_and_the_endpoint(shared, prefix):
    body = _run(shared, prefix, LIKE_AWS)
    assert body == {"cwd": "/var/task", "task_root": "/var/task", "tmp": "ok", "buckets": 200}


COUNTER = """
calls = 0
def handler(event, context):
    global calls
    calls += 1
    return calls
"""


def test_a_sandboxed_worker_stays_warm_between_invocations(shared, prefix):
    """Lambda reuses a warm environment; a sandboxed worker must outlive the request that
    started it (bubblewrap's --die-with-parent ended it with the request's thread)."""
    assert _run(shared, prefix, COUNTER) == 1
    time.sleep(0.5)  # the request that started the worker is over
    _, calls = invoke(shared, f"{prefix}-probe")
    assert calls == 2, "the second invocation was cold: the worker did not survive its first"


def test_memory_size_outside_lambdas_range_is_refused(backend, prefix):
    names = ready_names(backend, prefix)
    with pytest.raises(ClientError) as refused:
        deploy_source(backend, names, "huge", "def handler(e, c):\n    return 1\n", memory_size=10241)
    assert refused.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to 10240",
    }
    deploy_source(backend, names, "huge", "def handler(e, c):\n    return 1\n", memory_size=10240)
    with pytest.raises(ClientError) as refused:
        backend.client("lambda").update_function_configuration(FunctionName=names.function("huge"), MemorySize=10241)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    configuration = backend.client("lambda").get_function_configuration(FunctionName=names.function("huge"))
    assert configuration["MemorySize"] == 10240


def _package(unzipped_mb: int) -> bytes:
    """A valid handler plus zeros: a few hundred KB zipped, ``unzipped_mb`` unzipped."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 'small'\n")
        with archive.open("padding.bin", "w") as padding:
            chunk = bytes(1024 * 1024)
            for _ in range(unzipped_mb):
                padding.write(chunk)
    return buffer.getvalue()


def test_a_package_over_250_mb_unzipped_is_refused_and_code_goes_with_its_function(backend, prefix):
    names = ready_names(backend, prefix)
    lam = backend.client("lambda")
    refusal = {
        "Code": "InvalidParameterValueException",
        "Message": "Unzipped size must be smaller than 262144000 bytes",
    }
    with pytest.raises(ClientError) as refused:
        deploy.deploy_function(backend, names, "bloated", _package(251))
    assert refused.value.response["Error"] == refusal
    deploy_source(
        backend, names, "bloated", "import os\ndef handler(e, c):\n    return os.environ['LAMBDA_TASK_ROOT']\n"
    )
    function = names.function("bloated")
    with pytest.raises(ClientError) as refused:
        lam.update_function_code(FunctionName=function, ZipFile=_package(251))
    assert refused.value.response["Error"] == refusal
    task_root = Path(invoke(backend, function)[1])
    assert (task_root / "app.py").exists(), "the refused update left the function's code as it was"
    lam.delete_function(FunctionName=function)
    assert not task_root.exists(), "the deleted function's unpacked code stayed on disk"


def test_a_workers_memory_limit_is_capped_at_what_the_machine_has(monkeypatch):
    monkeypatch.setattr(execution_environment, "_available_memory_mb", lambda: 1000)
    assert execution_environment.memory_limit_mb(10240) == 1000
    assert execution_environment.memory_limit_mb(128) == 128 + execution_environment.RUNTIME_HEAP_ALLOWANCE_MB


def test_the_sandbox_is_for_shared_or_forced_emulators(monkeypatch):
    monkeypatch.setattr(sandbox, "unavailable_reason", lambda: "no bubblewrap here")
    assert sandbox.for_server(shared=False, forced=False, unsandboxed=False) is None
    assert sandbox.for_server(shared=True, forced=False, unsandboxed=True) is None
    with pytest.raises(WorkshopError, match="--unsandboxed-handlers"):
        sandbox.for_server(shared=True, forced=False, unsandboxed=False)
    with pytest.raises(WorkshopError, match="WORKSHOP_SANDBOX_HANDLERS=on, but no bubblewrap here"):
        sandbox.for_server(shared=False, forced=True, unsandboxed=False)


def test_serve_beyond_loopback_without_a_sandbox_refuses_in_one_line(tmp_path):
    env = {**local_environment(free_port(), tmp_path), "PATH": str(tmp_path / "no-tools")}
    done = run_script(env, "-m", "workshop", "serve", "--host", "0.0.0.0", "--port", env["WORKSHOP_PORT"])
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "bubblewrap" in lines[0] and "--unsandboxed-handlers" in lines[0], done.stderr
    assert "listening" not in done.stdout


def test_serve_beyond_loopback_starts_with_the_risk_flag(tmp_path):
    env = {**local_environment(free_port(), tmp_path), "PATH": str(tmp_path / "no-tools")}
    flags = ("--host", "0.0.0.0", "--unsandboxed-handlers")
    with emulator_process(tmp_path, serve_args=flags, settings={"PATH": env["PATH"]}):
        pass
    assert "run as this user" in (tmp_path / "emulator.log").read_text()
