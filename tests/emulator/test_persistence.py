"""A restarted emulator keeps what an AWS account keeps: a clean stop loses nothing, a crash
loses at most the last couple of seconds, and no stream record is handed over twice."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import emulator_process, emulator_stats, local_environment, wait_for_snapshot_after
from tests.emulator.test_event_source_mappings import _stream_table
from tests.lambda_helpers import deploy_source, ready_names
from workshop.core import backend as backends
from workshop.core.launcher import INSTRUCTOR_ACCESS_KEY, free_port
from workshop.core.waiting import wait_for
from workshop.emulator import persistence
from workshop.emulator.moto_adapters import state as moto_state

pytestmark = pytest.mark.timeout(300)

# Appends each stream record's key to an S3 object per record: a record handed over twice
# would show as a second attempt.
STREAM_COUNTER = """
import boto3, os
s3 = boto3.client("s3")
def handler(event, context):
    for record in event["Records"]:
        key = record["dynamodb"]["Keys"]["id"]["S"]
        seen = s3.list_objects_v2(Bucket=os.environ["BUCKET"], Prefix=f"seen/{key}/").get("KeyCount", 0)
        s3.put_object(Bucket=os.environ["BUCKET"], Key=f"seen/{key}/{seen}", Body=b"")
"""

# Fails its first attempt of each event, so the event waits for its retry.
FAILS_ONCE = """
import boto3, os
s3 = boto3.client("s3")
def handler(event, context):
    done = s3.list_objects_v2(Bucket=os.environ["BUCKET"], Prefix=f"attempt/{context.aws_request_id}/")
    attempt = done.get("KeyCount", 0) + 1
    s3.put_object(Bucket=os.environ["BUCKET"], Key=f"attempt/{context.aws_request_id}/{attempt}", Body=b"")
    if attempt == 1:
        raise RuntimeError("first attempt fails")
"""


def _backend(env: dict[str, str]) -> backends.Backend:
    return backends.from_environment(env)


def _keys(aws: backends.Backend, bucket: str, prefix: str) -> list[str]:
    listed = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def test_a_clean_restart_keeps_every_resource_and_reads_streams_on(tmp_path):
    port = free_port()
    with emulator_process(tmp_path, port=port, persist=True) as env:
        aws = _backend(env)
        names = ready_names(aws, "keep")
        s3, sqs, ddb, kms = (aws.client(s) for s in ("s3", "sqs", "dynamodb", "kms"))
        bucket = names.bucket("data")
        s3.create_bucket(Bucket=bucket)
        odd_key = "orders/2026 11/étude+1.csv"
        s3.put_object(Bucket=bucket, Key=odd_key, Body=b"id,total\n1,9.5\n", Metadata={"reason": "kept"})
        url = sqs.create_queue(QueueName=names.queue("jobs"), Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="waiting")
        sqs.send_message(QueueUrl=url, MessageBody="in flight")
        assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]) == 1  # one in flight
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        secret = kms.encrypt(KeyId=key_id, Plaintext=b"card 4111")["CiphertextBlob"]
        table, stream_arn = _stream_table(aws, names, "scores", view="NEW_IMAGE")
        counter = deploy_source(aws, names, "counter", STREAM_COUNTER, environment={"BUCKET": bucket})
        aws.client("lambda").create_event_source_mapping(
            FunctionName=counter, EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON", BatchSize=2
        )
        for key in ("a", "b", "c"):
            ddb.put_item(TableName=table, Item={"id": {"S": key}})
        wait_for(lambda: len(_keys(aws, bucket, "seen/")) == 3, "3 stream records handled")

    state = tmp_path / f"emulator-{port}.state"
    assert state.exists(), "a clean stop wrote no state"

    with emulator_process(tmp_path, port=port, persist=True) as env:
        aws = _backend(env)
        s3, sqs, ddb, kms = (aws.client(s) for s in ("s3", "sqs", "dynamodb", "kms"))
        kept = s3.get_object(Bucket=bucket, Key=odd_key)
        assert kept["Body"].read() == b"id,total\n1,9.5\n" and kept["Metadata"] == {"reason": "kept"}
        assert kms.decrypt(CiphertextBlob=secret)["Plaintext"] == b"card 4111"
        # the message in flight comes back after its visibility timeout, as on AWS
        bodies = set()
        wait_for(
            lambda: (
                bodies.update(
                    m["Body"]
                    for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                        "Messages", []
                    )
                )
                or len(bodies) == 2
            ),
            "both messages",
            timeout=30,
        )
        assert bodies == {"waiting", "in flight"}
        # the mapping reads on from where it was: no record again, new ones handled
        ddb.put_item(TableName=table, Item={"id": {"S": "d"}})
        wait_for(lambda: "seen/d/0" in _keys(aws, bucket, "seen/"), "the record written after the restart")
        time.sleep(1)
        assert _keys(aws, bucket, "seen/") == ["seen/a/0", "seen/b/0", "seen/c/0", "seen/d/0"]
        assert ddb.get_item(TableName=table, Key={"id": {"S": "a"}})["Item"] == {"id": {"S": "a"}}


def test_a_crash_keeps_what_was_saved_and_waiting_events_still_run(tmp_path):
    port = free_port()
    # AWS's one-minute wait before an async retry, compressed to 15 seconds: the retry is still waiting
    # at the crash (the first attempt, a write and a snapshot take about 3 s; 6 s was too short on a
    # loaded machine). https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
    slow_retries = {"WORKSHOP_TIME_SCALE": "0.25"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in slow_retries.items():
            patch.setenv(name, value)
        with emulator_process(tmp_path, port=port, persist=True, stop="kill") as env:
            aws = _backend(env)
            names = ready_names(aws, "crash")
            bucket = names.bucket("data")
            aws.client("s3").create_bucket(Bucket=bucket)
            function = deploy_source(aws, names, "fails-once", FAILS_ONCE, environment={"BUCKET": bucket})
            aws.client("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=b"{}")
            wait_for(lambda: _keys(aws, bucket, "attempt/"), "the first attempt")
            aws.client("s3").put_object(Bucket=bucket, Key="committed", Body=b"before the crash")
            wait_for_snapshot_after(env, time.time())  # a crash keeps what the last snapshot holds
            assert _keys(aws, bucket, "attempt/") == [f"attempt/{_request_of(aws, bucket)}/1"]

        with emulator_process(tmp_path, port=port, persist=True) as env:
            aws = _backend(env)
            assert aws.client("s3").get_object(Bucket=bucket, Key="committed")["Body"].read() == b"before the crash"
            attempts = wait_for(
                lambda: len(_keys(aws, bucket, "attempt/")) == 2 and _keys(aws, bucket, "attempt/"),
                "the retry after the restart",
                timeout=60,
            )
            owner = _request_of(aws, bucket)
            assert attempts == [f"attempt/{owner}/1", f"attempt/{owner}/2"], "the retry is the same event"


def _request_of(aws: backends.Backend, bucket: str) -> str:
    return _keys(aws, bucket, "attempt/")[0].split("/")[1]


def test_an_unreadable_state_is_kept_aside_and_the_emulator_starts_empty(tmp_path):
    port = free_port()
    (tmp_path / f"emulator-{port}.state").write_bytes(b"not a snapshot")
    with emulator_process(tmp_path, port=port, persist=True) as env:
        assert _backend(env).client("s3").list_buckets()["Buckets"] == []
    aside = list(tmp_path.glob(f"emulator-{port}.state.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == b"not a snapshot"
    assert "Could not load the saved state" in (tmp_path / "emulator.log").read_text()


def test_persistence_switched_off_saves_nothing(tmp_path):
    port = free_port()
    with emulator_process(tmp_path, port=port, persist=False) as env:
        _backend(env).client("s3").create_bucket(Bucket="nothing-saved")
        time.sleep(persistence.MIN_INTERVAL_SECONDS + 1)
    assert not list(Path(tmp_path).glob("emulator-*.state*"))


def test_fresh_starts_empty_and_sets_the_saved_state_aside(tmp_path):
    port = free_port()
    with emulator_process(tmp_path, port=port, persist=True) as env:
        _backend(env).client("s3").create_bucket(Bucket="from-before")
    with emulator_process(tmp_path, port=port, persist=True, serve_args=("--fresh",)) as env:
        assert _backend(env).client("s3").list_buckets()["Buckets"] == []
    aside = list(tmp_path.glob(f"emulator-{port}.state.set-aside-*"))
    assert len(aside) == 1, "the earlier state was not kept aside"
    with emulator_process(tmp_path, port=port, persist=True) as env:  # the fresh run's own state, empty
        assert _backend(env).client("s3").list_buckets()["Buckets"] == []


RECORDS_KEYS = """
import boto3, os
s3 = boto3.client("s3")
def handler(event, context):
    for record in event["Records"]:
        s3.put_object(Bucket=os.environ["BUCKET"], Key="handled/" + record["s3"]["object"]["key"], Body=b"")
"""


def test_an_s3_event_not_yet_delivered_at_a_stop_is_delivered_after_the_restart(tmp_path):
    port = free_port()
    with emulator_process(tmp_path, port=port, persist=True) as env:
        aws = _backend(env)
        names = ready_names(aws, "undelivered")
        s3 = aws.client("s3")
        uploads, handled = names.bucket("uploads"), names.bucket("handled")
        for bucket in (uploads, handled):
            s3.create_bucket(Bucket=bucket)
        function = deploy_source(aws, names, "keys", RECORDS_KEYS, environment={"BUCKET": handled})
        aws.client("lambda").add_permission(
            FunctionName=function, StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com"
        )
        s3.put_bucket_notification_configuration(
            Bucket=uploads,
            NotificationConfiguration={
                "LambdaFunctionConfigurations": [{"LambdaFunctionArn": function, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        request = urllib.request.Request(
            f"{aws.endpoint_url}/_workshop/chaos", method="POST", data=json.dumps({"delay_ms": 4000}).encode()
        )
        urllib.request.urlopen(request, timeout=5).read()  # the event waits in delivery when the emulator stops
        s3.put_object(Bucket=uploads, Key="late.csv", Body=b"id\n1\n")
        time.sleep(0.5)
        assert _keys(aws, handled, "handled/") == []
    with emulator_process(tmp_path, port=port, persist=True) as env:
        aws = _backend(env)
        wait_for(
            lambda: _keys(aws, handled, "handled/") == ["handled/late.csv"], "the event after the restart", timeout=60
        )


def test_start_fresh_refuses_while_an_emulator_holds_its_state(tmp_path):
    import subprocess
    import sys

    with emulator_process(tmp_path, persist=True) as env:
        done = subprocess.run(
            [sys.executable, "-m", "workshop", "start", "--fresh"], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode != 0 and "stop it first" in done.stderr + done.stdout, done


class _RunsCodeWhenUnpickled:
    """What a replaced state file could hold: unpickling it creates ``path`` (it could do anything)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_the_state_file_is_owner_only_sealed_and_a_replaced_one_never_runs(tmp_path):
    port = free_port()
    state = tmp_path / f"emulator-{port}.state"
    with emulator_process(tmp_path, port=port, persist=True) as env:
        _backend(env).client("s3").create_bucket(Bucket="kept")
    for private in (state, tmp_path / "state.key"):
        assert private.stat().st_mode & 0o777 == 0o600, private
    assert state.read_bytes().startswith(persistence.MAGIC)
    with emulator_process(tmp_path, port=port, persist=True) as env:
        assert [b["Name"] for b in _backend(env).client("s3").list_buckets()["Buckets"]] == ["kept"]
    previous = tmp_path / f"emulator-{port}.state.previous"
    assert previous.exists() and previous.stat().st_mode & 0o777 == 0o600  # what that run began with

    marker = tmp_path / "the-pickle-ran"
    payload = pickle.dumps(_RunsCodeWhenUnpickled(marker))
    forged = persistence.MAGIC + b"\0" * 32 + payload  # the kit's header, a made-up HMAC
    for replaced in (forged, payload):  # and a bare pickle, as the old format was
        state.write_bytes(replaced)
        with emulator_process(tmp_path, port=port, persist=True) as env:
            assert _backend(env).client("s3").list_buckets()["Buckets"] == []
        assert not marker.exists(), "the state file was unpickled before it was checked"
    assert len(list(tmp_path.glob(f"emulator-{port}.state.unreadable-*"))) == 2
    assert "HMAC does not match" in (tmp_path / "emulator.log").read_text()


def test_a_class_emulator_does_not_start_empty_on_an_unreadable_state(tmp_path):
    port = free_port()
    state = tmp_path / f"emulator-{port}.state"
    state.write_bytes(b"damaged")
    env = {**local_environment(port, tmp_path), "WORKSHOP_PERSIST": "on"}
    serve = [sys.executable, "-m", "workshop", "serve", "--host", "0.0.0.0", "--port", str(port), "--quiet"]
    refused = subprocess.run(serve, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2, refused
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be loaded" in lines[0] and "--fresh" in lines[0], refused.stderr
    assert state.read_bytes() == b"damaged"  # left where it was
    with emulator_process(tmp_path, port=port, persist=True, serve_args=("--host", "0.0.0.0", "--fresh")):
        token = (tmp_path / f"admin-token-{port}").read_text().strip()  # a class's: signed as the instructor
        instructor = backends.Backend(
            backends.ENDPOINT, f"http://127.0.0.1:{port}", backends.LOCAL_REGION, (INSTRUCTOR_ACCESS_KEY, token)
        )
        assert instructor.client("s3").list_buckets()["Buckets"] == []


def test_a_forked_copy_saves_the_state_while_large_objects_are_read(tmp_path):
    """Snapshots are pickled by a forked copy of the emulator, which shares the spooled files of
    objects over 5 MB with it: reading one there must neither disturb the emulator's reads nor
    save it cut short, and a crash keeps what the copy saved."""
    port, big = free_port(), bytes(range(256)) * (6 * 4096 + 7)  # 6 MB and a bit: spooled to a file
    with emulator_process(tmp_path, port=port, persist=True, stop="kill") as env:
        aws = _backend(env)
        names = ready_names(aws, "copy")
        bucket = names.bucket("data")
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="big.bin", Body=big)
        s3.put_object(Bucket=bucket, Key="small.txt", Body=b"small")
        moment, reads = time.time(), 0
        while (emulator_stats(aws.endpoint_url)["snapshots"]["last_captured_at"] or 0) <= moment:
            assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == big, "a read while a copy saves"
            reads += 1
        snapshots = emulator_stats(aws.endpoint_url)["snapshots"]
        assert snapshots["written_by_a_copy"] >= 1, snapshots
        assert snapshots["last_pause_seconds"] < snapshots["last_seconds"], snapshots
        assert reads >= 1

    with emulator_process(tmp_path, port=port, persist=True) as env:
        s3 = _backend(env).client("s3")
        assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == big
        assert s3.get_object(Bucket=bucket, Key="small.txt")["Body"].read() == b"small"


def test_a_copy_that_fails_or_hangs_is_reported_and_stopped():
    """The copy's answer comes back through a pipe; a failure names its error, and a copy that
    runs past its time is killed (nothing is left running)."""
    from workshop.emulator import snapshot_fork

    if not snapshot_fork.supported():
        pytest.skip("forked copies are used on Linux only")
    difference, paused = snapshot_fork.save_in_copy(os.getpid, lambda parent: os.getpid() - parent, 30)
    assert difference != 0, "save ran in another process"
    assert 0 <= paused < 5

    def fails(_: object) -> int:
        raise ValueError("no room left")

    with pytest.raises(snapshot_fork.CopyFailed, match="no room left"):
        snapshot_fork.save_in_copy(dict, fails, 30)
    started = time.perf_counter()
    with pytest.raises(snapshot_fork.CopyTimedOut, match="ran past 1 s"):
        snapshot_fork.save_in_copy(dict, lambda _: time.sleep(60) or 0, 1)
    assert time.perf_counter() - started < 10


def test_the_state_is_pickled_with_other_threads_held_in_the_emulator_and_as_is_in_a_copy(monkeypatch):
    """In the emulator no request may change the state halfway through its pickling; a forked
    copy has one thread, and nothing to hold."""
    from workshop.emulator import snapshot_fork

    intervals: list[float] = []
    monkeypatch.setattr(snapshot_fork.sys, "setswitchinterval", intervals.append)
    data = persistence.dump_state({"mark": 1})
    assert intervals and intervals[0] >= 30, "the other threads are held while it is pickled"
    intervals.clear()
    assert persistence.dump_state({"mark": 1}, in_copy=True) and intervals == []
    assert pickle.loads(data)["extra"] == {"mark": 1}


def test_an_s3_object_spooled_to_a_file_is_read_in_the_copy_without_moving_its_offset():
    """The copy shares the file's offset with the emulator: it reads with pread, and refuses an
    object whose last bytes are still in the file object's buffer rather than save it cut short."""
    from moto.s3.models import FakeKey

    big = os.urandom(6 * 1024 * 1024)
    key = FakeKey("big.bin", big, "123456789012", "us-east-1")
    buffer = key._value_buffer
    assert buffer._rolled, "over moto's 5 MB buffer: spooled to a file"
    buffer.seek(1234)
    _, _, state = moto_state.s3_object_in_a_copy(key)
    assert state["value"] == big and "lock" not in state and "_value_buffer" not in state
    assert buffer.tell() == 1234, "the offset the emulator's own reads depend on did not move"
    key.contentsize += 1  # as if a write had not reached the file yet
    with pytest.raises(ValueError, match="being written"):
        moto_state.s3_object_in_a_copy(key)
    small = FakeKey("small.txt", b"small", "123456789012", "us-east-1")
    assert moto_state.s3_object_in_a_copy(small)[2]["value"] == b"small"
    assert pickle.loads(pickle.dumps(small)).value == b"small"
