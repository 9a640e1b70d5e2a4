"""The emulator runs Lambda handlers for real, through the standard Invoke API."""

import base64
import re
import sys
import threading

import pytest
from botocore.exceptions import ClientError

from tests.lambda_helpers import deploy_source, invoke, log_messages, ready_names
from workshop.core.waiting import wait_for

COUNTER = """
import os
count = 0

def handler(event, context):
    global count
    count += 1
    print("event:", event)
    return {"count": count, "version": "one",
            "context": {"function_name": context.function_name, "memory": context.memory_limit_in_mb,
                        "remaining": context.get_remaining_time_in_millis(), "request_id": context.aws_request_id,
                        "log_group": context.log_group_name, "arn": context.invoked_function_arn},
            "env": {k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_EXECUTION_ENV",
                    "GREETING", "LAMBDA_TASK_ROOT", "_HANDLER")}}
"""


@pytest.fixture
def names(backend, prefix):
    return ready_names(backend, prefix)


def test_warm_environment_keeps_globals_and_sees_aws_context(backend, names):
    deploy_source(backend, names, "counter", COUNTER, environment={"GREETING": "hi"}, timeout=7, memory_size=256)
    function = names.function("counter")
    first, body1 = invoke(backend, function, {"n": 1})
    _, body2 = invoke(backend, function, {"n": 2})
    assert first["StatusCode"] == 200 and "FunctionError" not in first
    assert (body1["count"], body2["count"]) == (1, 2), "module globals survive in a warm environment"
    context, env = body1["context"], body1["env"]
    assert context["function_name"] == function and context["memory"] == "256"
    assert 6000 < context["remaining"] <= 7000
    assert context["log_group"] == f"/aws/lambda/{function}"
    assert context["arn"].endswith(f":function:{function}")
    assert env == {
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "GREETING": "hi",
        "LAMBDA_TASK_ROOT": env["LAMBDA_TASK_ROOT"],
        "_HANDLER": "app.handler",
    }


def test_an_update_starts_a_fresh_environment(backend, names):
    deploy_source(backend, names, "counter", COUNTER)
    function = names.function("counter")
    invoke(backend, function)
    assert invoke(backend, function)[1]["count"] == 2
    deploy_source(backend, names, "counter", COUNTER.replace('"one"', '"two"'))
    _, body = invoke(backend, function)
    assert (body["count"], body["version"]) == (1, "two")
    deploy_source(backend, names, "counter", COUNTER.replace('"one"', '"two"'), environment={"GREETING": "hello"})
    _, body = invoke(backend, function)
    assert (body["count"], body["env"]["GREETING"]) == (1, "hello"), "a configuration update also replaces it"


def test_handler_error_has_aws_payload(backend, names):
    deploy_source(backend, names, "raiser", "def handler(event, context):\n    raise ValueError('bad order 42')\n")
    response, body = invoke(backend, names.function("raiser"))
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "bad order 42"
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert body["stackTrace"][0].startswith('  File "/var/task/app.py", line 2, in handler')


@pytest.mark.parametrize(
    "source, error_type, message",
    [
        (
            "import not_a_module\ndef handler(e, c): pass\n",
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named 'not_a_module'",
        ),
        ("def other(e, c): pass\n", "Runtime.HandlerNotFound", "Handler 'handler' missing on module 'app'"),
        ("def handler(e, c):\n  return (\n", "Runtime.UserCodeSyntaxError", "Syntax error in module 'app'"),
        ("def handler(e, c):\n    return {1, 2}\n", "Runtime.MarshalError", "Unable to marshal response"),
    ],
)
def test_broken_code_gets_the_runtime_error(backend, names, source, error_type, message):
    deploy_source(backend, names, "broken", source)
    response, body = invoke(backend, names.function("broken"))
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == error_type and message in body["errorMessage"]


HOSTILE = """
import sys, time
def handler(event, context):
    action = event.get("action")
    if action == "hang":
        while True:
            time.sleep(0.01)
    if action == "exit":
        sys.exit(3)
    if action == "eat":
        hoard = []
        while True:
            hoard.append(bytearray(20_000_000))
    return "fine"
"""


@pytest.mark.parametrize(
    "action, timeout, error_type, message",
    [
        ("hang", 1, "Sandbox.Timedout", "Task timed out after 1.00 seconds"),
        ("exit", 1, "Runtime.ExitError", "Runtime exited with error: exit status 3"),
        # A generous timeout: on a busy machine filling 320 MB takes a while, and it must be
        # the memory limit, not the clock, that stops this one.
        ("eat", 30, "Runtime.OutOfMemory", "Runtime exited with error"),
    ],
)
def test_hostile_handlers_never_take_the_emulator_down(backend, names, action, timeout, error_type, message):
    deploy_source(backend, names, "hostile", HOSTILE, timeout=timeout)
    response, body = invoke(backend, names.function("hostile"), {"action": action})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == error_type and message in body["errorMessage"], body
    assert invoke(backend, names.function("hostile"))[1] == "fine", "the next invocation gets a fresh environment"
    if action == "hang":
        assert any("Task timed out after 1.00 seconds" in m for m in log_messages(backend, names.function("hostile")))


def test_logs_have_start_end_report_and_tail(backend, names):
    deploy_source(
        backend,
        names,
        "logger",
        (
            "import logging\nlogging.getLogger().setLevel(logging.INFO)\n"
            "def handler(event, context):\n    print('printed line')\n    logging.info('logged line')\n    return 1\n"
        ),
    )
    function = names.function("logger")
    response, _ = invoke(backend, function, LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode().splitlines()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert tail[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert tail[1] == "printed line"
    assert tail[2].startswith("[INFO]\t") and tail[2].endswith(f"\t{request_id}\tlogged line")
    assert tail[3] == f"END RequestId: {request_id}"
    assert tail[4].startswith(f"REPORT RequestId: {request_id}\tDuration: ") and "Init Duration" in tail[4]
    invoke(backend, function)
    messages = wait_for(
        lambda: (
            [m for m in log_messages(backend, function) if m.startswith("REPORT")][1:]
            and log_messages(backend, function)
        ),
        "two REPORT lines",
    )
    reports = [m for m in messages if m.startswith("REPORT")]
    assert len(reports) == 2 and "Init Duration" not in reports[1], "only a cold start reports INIT"
    logs = backend.client("logs")
    [stream] = logs.describe_log_streams(logGroupName=f"/aws/lambda/{function}")["logStreams"]
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", stream["logStreamName"])
    events = logs.get_log_events(
        logGroupName=f"/aws/lambda/{function}", logStreamName=stream["logStreamName"], startFromHead=True
    )["events"]
    assert [e["message"] for e in events][:2] == [tail[0], "printed line"], "one warm environment, one stream"


def test_handler_boto3_calls_reach_the_emulator(backend, names):
    deploy_source(
        backend,
        names,
        "writer",
        (
            "import boto3, os\n"
            "def handler(event, context):\n"
            "    boto3.client('s3').put_object(Bucket=event['bucket'], Key='from-lambda.txt', Body=b'hi')\n"
            "    return os.environ['AWS_REGION']\n"
        ),
    )
    bucket = names.bucket("processed")
    assert invoke(backend, names.function("writer"), {"bucket": bucket})[1] == "us-east-1"
    assert backend.client("s3").get_object(Bucket=bucket, Key="from-lambda.txt")["Body"].read() == b"hi"


def test_dry_run_event_and_unknown_function(backend, names):
    deploy_source(backend, names, "counter", COUNTER)
    lam = backend.client("lambda")
    assert lam.invoke(FunctionName=names.function("counter"), InvocationType="DryRun")["StatusCode"] == 204
    response = lam.invoke(FunctionName=names.function("counter"), InvocationType="Event", Payload=b'{"async": 1}')
    assert response["StatusCode"] == 202
    wait_for(
        lambda: any("'async': 1" in m for m in log_messages(backend, names.function("counter"))),
        "the Event invocation to run",
        timeout=10,
    )
    with pytest.raises(ClientError) as error:
        lam.invoke(FunctionName=names.function("missing"))
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        lam.invoke(FunctionName=names.function("counter"), Payload=b"{not json")
    assert error.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_concurrent_invocations_get_separate_environments(backend, names):
    deploy_source(
        backend,
        names,
        "sleeper",
        (
            "import os, time\ndef handler(event, context):\n    started = time.time()\n    time.sleep(1.5)\n"
            "    return [os.getpid(), started, time.time()]\n"
        ),
        timeout=30,
    )
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(invoke(backend, names.function("sleeper"))[1])) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({pid for pid, _, _ in results}) == 4, "four concurrent invocations ran in four environments"
    assert max(start for _, start, _ in results) < min(end for _, _, end in results), "and at the same time"


def test_a_crashing_function_does_not_disturb_another(backend, names):
    deploy_source(backend, names, "hostile", HOSTILE, timeout=1)
    deploy_source(backend, names, "counter", COUNTER)
    crash = threading.Thread(target=lambda: invoke(backend, names.function("hostile"), {"action": "hang"}))
    crash.start()
    assert invoke(backend, names.function("counter"))[1]["count"] == 1
    crash.join()


def test_non_python_runtimes_are_refused_clearly(backend, names):
    deploy_source(
        backend, names, "node", "exports.handler = async () => 1;", runtime="nodejs20.x", handler="index.handler"
    )
    response, body = invoke(backend, names.function("node"))
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.InvalidRuntime" and "Python handlers only" in body["errorMessage"]


def test_handlers_import_only_what_the_aws_runtime_provides(backend, names):
    deploy_source(
        backend,
        names,
        "importer",
        (
            "import importlib\n"
            "def handler(event, context):\n"
            "    importlib.import_module(event['module'])\n"
            "    return 'imported'\n"
        ),
    )
    function = names.function("importer")
    for provided in ("boto3", "botocore", "json", "urllib3", "dateutil", "sqlite3"):
        assert invoke(backend, function, {"module": provided})[1] == "imported", provided
    for absent in ("pandas", "aws_lambda_powertools", "workshop", "moto", "pytest"):
        response, body = invoke(backend, function, {"module": absent})
        assert body["errorType"] == "ModuleNotFoundError" and body["errorMessage"] == f"No module named '{absent}'"


def test_vendored_packages_travel_in_the_zip(backend, names):
    from workshop.account import deploy

    source = (
        "from aws_lambda_powertools import Logger\n"
        "from aws_lambda_powertools.utilities.data_classes import S3Event\n"
        "logger = Logger(service='digester')\n"
        "def handler(event, context):\n"
        "    logger.info('got it')\n"
        "    return S3Event(event).bucket_name\n"
    )
    deploy.deploy_function(backend, names, "powered", {"app.py": source}, vendor=("aws_lambda_powertools",))
    event = {"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]}
    response, body = invoke(backend, names.function("powered"), event)
    assert "FunctionError" not in response, body
    assert body == "b"


def test_deleting_a_function_stops_its_worker_processes(backend, names):
    import os

    deploy_source(backend, names, "short-lived", "import os\ndef handler(e, c):\n    return os.getpid()\n")
    pid = invoke(backend, names.function("short-lived"))[1]
    os.kill(pid, 0)  # the warm environment is a live process
    backend.client("lambda").delete_function(FunctionName=names.function("short-lived"))

    def gone():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(gone, "the deleted function's worker to exit", timeout=10)


def test_an_idle_worker_is_reaped_and_the_next_invoke_starts_cold(tmp_path, prefix):
    """As Lambda reclaims an idle execution environment: a worker nobody invoked for
    WORKSHOP_IDLE_WORKER_SECONDS stops, and the next invocation starts a new one."""
    import os

    from tests.conftest import emulator_process
    from workshop.core import backend as backends

    source = (
        "import os\ncount = 0\ndef handler(e, c):\n    global count\n    count += 1\n    return [os.getpid(), count]\n"
    )
    with emulator_process(tmp_path, settings={"WORKSHOP_IDLE_WORKER_SECONDS": "1"}) as env:
        own = backends.Backend(backends.EMBEDDED, f"http://127.0.0.1:{env['WORKSHOP_PORT']}", backends.LOCAL_REGION)
        names = ready_names(own, prefix)
        deploy_source(own, names, "naps", source)
        function = names.function("naps")
        pid, count = invoke(own, function)[1]
        assert invoke(own, function)[1] == [pid, count + 1]  # warm: the same process, its globals kept

        def gone():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            return False

        wait_for(gone, "the idle worker to be reaped", timeout=15)
        response, (new_pid, new_count) = invoke(own, function)
        assert new_pid != pid and new_count == 1 and "FunctionError" not in response


PROBE = """
import os, signal, sys, time
import boto3
def handler(event, context):
    os.write(2, b"written below Python\\n")
    session = boto3.session.Session()
    parsed_before = len(session._session.get_component("data_loader")._cache)
    return {
        "models_parsed_before_the_first_client": parsed_before > 0,
        "client_region": session.client("s3").meta.region_name,
        "client_credentials_from_env": session.get_credentials().access_key == os.environ["AWS_ACCESS_KEY_ID"],
        "cwd_is_task_root": os.getcwd() == os.environ["LAMBDA_TASK_ROOT"],
        "path_starts_at_task_root": sys.path[0] == os.environ["LAMBDA_TASK_ROOT"],
        "environment": sorted(os.environ),
        "own_session": os.getsid(0) == os.getpid(),
        "stdin": os.read(0, 10).decode(),
        "open_descriptors": len(os.listdir("/proc/self/fd")),
        "timezone": time.tzname[0],
        "bytecode_written": not sys.dont_write_bytecode,
        "sigint": str(signal.getsignal(signal.SIGINT)),
    }
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_a_forked_worker_is_the_process_a_fresh_one_would_be(backend, tmp_path, prefix):
    """Workers fork from a warm parent (emulator.functions.fork_server): a handler sees the same
    folder, environment, session, descriptors and clock as in a process started for it."""
    from tests.conftest import emulator_process
    from workshop.core import backend as backends

    def probe(aws: backends.Backend) -> tuple[dict, list[str]]:
        names = ready_names(aws, prefix)
        deploy_source(aws, names, "probe", PROBE)
        response, body = invoke(aws, names.function("probe"))
        assert "FunctionError" not in response, body
        invoke(aws, names.function("probe"))  # output below Python may land in the next invocation's log
        return body, log_messages(aws, names.function("probe"))

    forked, forked_logs = probe(backend)
    with emulator_process(tmp_path, settings={"WORKSHOP_FORK_WORKERS": "off"}) as env:
        started, _ = probe(backends.Backend(backends.EMBEDDED, f"http://127.0.0.1:{env['WORKSHOP_PORT']}", "us-east-1"))
    # Python sets LC_CTYPE in a process it starts where LANG's locale (en_US.UTF-8, as on AWS) is
    # not installed (PEP 538); a forked worker is given the environment as AWS gives it.
    started["environment"] = [name for name in started["environment"] if name != "LC_CTYPE"]
    # the one difference: a forked worker's first client finds botocore's models parsed (by the fork server)
    assert forked.pop("models_parsed_before_the_first_client") and not started.pop(
        "models_parsed_before_the_first_client"
    )
    assert forked == started
    assert forked["client_region"] == backends.LOCAL_REGION and forked["client_credentials_from_env"]
    assert forked["cwd_is_task_root"] and forked["own_session"] and forked["timezone"] == "UTC"
    assert not any(name.startswith("_WORKSHOP") for name in forked["environment"])
    assert any("written below Python" in line for line in forked_logs)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_a_stopped_fork_server_ends_by_itself():
    """Stopping tells the server so at once (end of file on its socket), while the emulator's
    reader thread is blocked reading that socket: the server exits on its own, not killed after
    the stop's five-second wait (every emulator's stop took five seconds longer)."""
    from workshop.emulator.functions.fork_server import ForkServer

    server = ForkServer()
    server.start()
    server.stop()
    assert server._process is not None and server._process.returncode == 0
