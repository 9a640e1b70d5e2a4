"""The kit under the faults and bad input its users will bring: at-least-once delivery at scale,
awkward files, poison jobs, broken events, killed workers, a restarted emulator, and a class torn
down among decoys.

The pipeline under test is the capstone's (workshop.lab_helpers.capstone): the full solution pipeline,
intake → idempotency → error bucket and alarm → records → stream → FIFO queue → worker.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import psutil
import pytest

from tests.conftest import emulator_process, run_script, wait_for_snapshot_after
from workshop.account import inventory
from workshop.core.naming import TAG_KEY, Names
from workshop.core.waiting import wait_for
from workshop.lab_helpers import capstone, chaos, kit_emulator, orders

UPLOADERS = 8


@pytest.fixture
def pipeline(ctx, in_process_backend):
    capstone.provision(ctx.aws, ctx.names)
    capstone.deploy(ctx.aws, ctx.names, [capstone.ORDERS])
    return ctx


@pytest.fixture
def own_pipeline(tmp_path, monkeypatch):
    """The pipeline on an emulator of its own: a load test measures the pipeline, not the
    hundreds of queues and mappings the session's earlier tests left in the shared emulator."""
    from workshop.account import environment
    from workshop.core import backend as backends
    from workshop.teaching import grading

    with emulator_process(tmp_path) as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        backends.current.cache_clear()
        aws = backends.from_environment(env)
        names = aws.names("load")
        environment.provision(aws, names)
        capstone.provision(aws, names)
        capstone.deploy(aws, names, [capstone.ORDERS])
        yield grading.Context(aws=aws, names=names, workdir=tmp_path)
    backends.current.cache_clear()


def upload(ctx, files, uploaders=UPLOADERS):
    s3, bucket = ctx.client("s3"), ctx.names.bucket(capstone.INCOMING)
    with ThreadPoolExecutor(uploaders) as pool:
        list(pool.map(lambda made: s3.put_object(Bucket=bucket, Key=made.key, Body=made.body), files))


def settle(ctx, keys, timeout=240):
    return pd.DataFrame(
        wait_for(
            lambda: capstone.settled(ctx.aws, ctx.names, keys),
            f"{len(keys)} files settled",
            timeout=timeout,
            max_interval=2.0,
        )
    )


def rows_of(made):
    if made.key.endswith(".json"):
        return json.loads(made.body)["orders"]
    return made.body.decode().strip().splitlines()[1:]


def output_count(ctx):
    paginator = ctx.client("s3").get_paginator("list_objects_v2")
    return sum(page.get("KeyCount", 0) for page in paginator.paginate(Bucket=ctx.names.bucket(capstone.OUTPUT)))


@pytest.mark.slow
@pytest.mark.timeout(2400)  # 2.5 minutes in a quiet CI run on 2 cores; room for a busy machine
def test_2000_files_from_8_uploaders_with_30_percent_duplicate_deliveries_each_processed_once(own_pipeline):
    """incoming = processed + rejected; every distinct good file taken in exactly once; its
    records delivered exactly once; every duplicate and malformed file rejected with a reason."""
    files = orders.generate(2000, seed=97, malformed=0.05, duplicates=0.1, json_share=0.3)
    records = sum(len(rows_of(f)) for f in files if f.expected == orders.GOOD)
    s3 = own_pipeline.client("s3")
    with chaos.switched(duplicate_rate=0.3):
        upload(own_pipeline, files)
        # cheap signs of the end first (a full ledger costs a call per file; counting the outputs,
        # six listings of a thousand keys, is not cheap either while the emulator is still busy), then the ledger once
        wait_for(
            lambda: (
                s3.list_objects_v2(Bucket=own_pipeline.names.bucket(capstone.INCOMING))["KeyCount"] == 0
                and kit_emulator.call("idle", "the emulator's idle report")["idle"]
                and output_count(own_pipeline) >= records
            ),
            "incoming emptied and every record delivered",
            timeout=2100,
            max_interval=2.0,
        )
        ledger = settle(own_pipeline, [f.key for f in files], timeout=120)
    expected = Counter(f.expected for f in files)
    outcome = ledger["ended_in"].value_counts()
    assert outcome.get("archive", 0) == expected[orders.GOOD]
    assert outcome.get("error", 0) == expected[orders.MALFORMED] + expected[orders.DUPLICATE]
    assert len(ledger) == outcome.get("archive", 0) + outcome.get("error", 0) == 2000, "incoming = processed + rejected"
    duplicates = ledger[ledger["reason"].str.startswith("duplicate")]
    assert len(duplicates) == expected[orders.DUPLICATE]
    assert ledger["records"].sum() == ledger["delivered"].sum() == records == output_count(own_pipeline)


# ---- bad input -------------------------------------------------------------------------------


def csv_file(key, rows, fields=orders.CSV_FIELDS):
    lines = [",".join(fields)] + [",".join(str(row.get(f, "")) for f in fields) for row in rows]
    return key, ("\n".join(lines) + "\n").encode()


GOOD_ROW = {"order_id": 1, "customer": "ana", "product": "mug", "quantity": 2, "unit_price": "8.50"}
# (what, key, body, where it must end, the reason it must give): the table in BENCHMARKS.md's reliability part
BAD_INPUTS = [
    (
        "CSV without a column",
        *csv_file("orders/bad/no-price.csv", [GOOD_ROW], orders.CSV_FIELDS[:-1]),
        "error",
        "record without unit_price",
    ),
    (
        "CSV with a mistyped field",
        *csv_file("orders/bad/typed.csv", [dict(GOOD_ROW, quantity="two")]),
        "error",
        "quantity 'two' is not a number",
    ),
    (
        "CSV with a missing field",
        *csv_file("orders/bad/missing.csv", [dict(GOOD_ROW, customer="")]),
        "error",
        "record without customer",
    ),
    (
        "CSV, header only",
        "orders/bad/header.csv",
        b"order_id,customer,product,quantity,unit_price\n",
        "error",
        "no records",
    ),
    ("invalid JSON", "orders/bad/broken.json", b'{"orders": [{"order_id": 1,', "error", "unreadable: JSONDecodeError"),
    ("JSON of another shape", "orders/bad/shape.json", b'{"order": []}', "error", "JSON without the 'orders' list"),
    ("JSON whose list is not a list", "orders/bad/notalist.json", b'{"orders": "many"}', "error", "is not a list"),
    ("not text at all", "orders/bad/binary.csv", bytes(range(256)) * 4, "error", "unreadable: UnicodeDecodeError"),
    ("zero bytes", "orders/bad/empty.csv", b"", "error", "zero bytes"),
    (
        "a key with spaces",
        *csv_file("orders/with spaces/Q4 report (final).csv", [dict(GOOD_ROW, order_id=2)]),
        "archive",
        "",
    ),
    ("a key with + and %", *csv_file("orders/a+b=c/100% done.csv", [dict(GOOD_ROW, order_id=3)]), "archive", ""),
    ("a key in unicode", *csv_file("orders/über/Ωmega/étude.csv", [dict(GOOD_ROW, order_id=4)]), "archive", ""),
    (
        "a deep prefix",
        *csv_file("orders/" + "/".join(f"level{n}" for n in range(12)) + "/deep.csv", [dict(GOOD_ROW, order_id=5)]),
        "archive",
        "",
    ),
    (
        "an extra column",
        *csv_file(
            "orders/extra/gift.csv", [dict(GOOD_ROW, order_id=6, gift_wrap="yes")], (*orders.CSV_FIELDS, "gift_wrap")
        ),
        "archive",
        "",
    ),
]


def test_bad_input_gets_a_clear_reason_and_good_input_with_awkward_keys_goes_through(pipeline):
    s3, incoming = pipeline.client("s3"), pipeline.names.bucket(capstone.INCOMING)
    for _, key, body, _, _ in BAD_INPUTS:
        s3.put_object(Bucket=incoming, Key=key, Body=body)
    ledger = settle(pipeline, [key for _, key, _, _, _ in BAD_INPUTS], timeout=60).set_index("file")
    for what, key, _, place, reason in BAD_INPUTS:
        row = ledger.loc[key]
        assert row["ended_in"] == place, (what, row.to_dict())
        assert reason in row["reason"], (what, row["reason"])
        if place == "archive":
            assert row["records"] == row["delivered"] == 1, (what, row.to_dict())
    gift = capstone.outputs_of(pipeline.aws, pipeline.names, ["orders/extra/gift.csv"])
    assert gift[0]["record"]["gift_wrap"] == "yes", "a new property flows through untouched"


@pytest.mark.slow
def test_a_50_mb_file_is_refused_before_it_is_read_and_kept_with_its_reason(pipeline):
    rng = random.Random(5)
    row = "{},{},mug,1,8.50\n"
    body = (
        "order_id,customer,product,quantity,unit_price\n"
        + "".join(row.format(n, rng.choice(orders.CUSTOMERS)) for n in range(2_600_000))
    ).encode()
    assert len(body) > 50 * 1024 * 1024
    key = "orders/big/fifty-megabytes.csv"
    pipeline.client("s3").put_object(Bucket=pipeline.names.bucket(capstone.INCOMING), Key=key, Body=body)
    row_seen = settle(pipeline, [key], timeout=120).iloc[0]
    assert row_seen["ended_in"] == "error" and row_seen["reason"].startswith("too large: "), row_seen.to_dict()
    kept = pipeline.client("s3").head_object(Bucket=pipeline.names.bucket(capstone.ERROR), Key=key)
    assert kept["ContentLength"] == len(body), "the refused file is kept whole in the error bucket"


@pytest.mark.parametrize(
    "event, ignored",
    [
        ({}, ["the event has no Records list"]),
        ({"Records": []}, []),
        ({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, ["not an S3 event record (KeyError: 's3')"]),
        ({"Records": [{"s3": {"bucket": {"name": "x"}, "object": {}}}]}, ["not an S3 event record (KeyError: 'key')"]),
        ({"Records": "nope"}, ["the event has no Records list"]),
    ],
)
def test_events_with_missing_records_are_answered_not_crashed_on(pipeline, event, ignored):
    response = pipeline.client("lambda").invoke(
        FunctionName=pipeline.names.function("cap-orders-intake"), Payload=json.dumps(event).encode()
    )
    assert "FunctionError" not in response
    result = json.loads(response["Payload"].read())
    assert result["files"] == [] and [i["why"] for i in result["ignored"]] == ignored


def test_poison_jobs_are_parked_at_once_and_every_good_job_is_done_once_in_order(pipeline):
    """A job that can never succeed goes to the dead-letter queue on its first failure, with the
    reason, so the jobs behind it in its FIFO group are not held up nor dragged along."""
    sqs, names = pipeline.client("sqs"), pipeline.names
    jobs_url = sqs.get_queue_url(QueueName=names.queue("cap-orders-jobs", fifo=True))["QueueUrl"]
    dead_url = sqs.get_queue_url(QueueName=names.queue("cap-orders-dead", fifo=True))["QueueUrl"]
    good, poison = [], []
    for n in range(60):
        group = f"customer-{n % 6}"
        if n % 15 == 7:
            body = "{not json" if n % 2 else json.dumps({"RecordKey": f"orders#p{n}"})  # broken, or no Channel
            poison.append(body)
        else:
            body = json.dumps(
                {
                    "RecordKey": f"orders#g{n}",
                    "Channel": "orders",
                    "SourceFile": "orders/jobs.csv",
                    "order_id": f"g{n}",
                    "customer": group,
                }
            )
            good.append(f"orders/g{n}.json")
        sqs.send_message(QueueUrl=jobs_url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=str(n))

    parked = []

    def dead_letters():
        for message in sqs.receive_message(
            QueueUrl=dead_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            parked.append((message["Body"], message["MessageAttributes"]["reason"]["StringValue"]))
            sqs.delete_message(QueueUrl=dead_url, ReceiptHandle=message["ReceiptHandle"])
        return len(parked) >= len(poison)

    wait_for(dead_letters, "the poison jobs parked", timeout=60)
    assert sorted(body for body, _ in parked) == sorted(poison)
    assert all(reason.startswith("not a job: ") for _, reason in parked), parked
    s3 = pipeline.client("s3")
    done = wait_for(
        lambda: (
            (keys := [o["Key"] for o in s3.list_objects_v2(Bucket=names.bucket(capstone.OUTPUT)).get("Contents", [])])
            and len(keys) >= len(good)
            and keys
        ),
        "the good jobs done",
        timeout=60,
    )
    assert sorted(done) == sorted(good), "every good job done once, none held up or dragged along by a poison job"
    attributes = sqs.get_queue_attributes(QueueUrl=jobs_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_jobs_too_big_for_one_batch_call_are_queued_over_several(pipeline):
    """The enqueuer sends jobs ten to a call, but never more than 1 MiB in one call: twelve
    records of 150 KB each are twelve jobs, every one done."""
    names, note = pipeline.names, "x" * 150_000

    def image(n):
        return {
            "RecordKey": {"S": f"orders#big{n}"},
            "Channel": {"S": "orders"},
            "SourceFile": {"S": "orders/big.csv"},
            "order_id": {"S": f"big{n}"},
            "customer": {"S": f"customer-{n % 3}"},
            "note": {"S": note},
        }

    event = {
        "Records": [
            {"eventName": "INSERT", "dynamodb": {"NewImage": image(n), "SequenceNumber": str(n)}} for n in range(12)
        ]
    }
    response = pipeline.client("lambda").invoke(
        FunctionName=names.function("cap-orders-enqueuer"), Payload=json.dumps(event).encode()
    )
    assert "FunctionError" not in response, response["Payload"].read()
    assert json.loads(response["Payload"].read()) == {"queued": 12}
    s3 = pipeline.client("s3")
    done = wait_for(
        lambda: (
            (
                keys := sorted(
                    o["Key"]
                    for o in s3.list_objects_v2(Bucket=names.bucket(capstone.OUTPUT), Prefix="orders/big").get(
                        "Contents", []
                    )
                )
            )
            and len(keys) >= 12
            and keys
        ),
        "the twelve jobs done",
        timeout=60,
    )
    assert done == sorted(f"orders/big{n}.json" for n in range(12))


# ---- the emulator itself ---------------------------------------------------------------------

SLEEPER = """
import os
import time
def handler(event, context):
    if event.get("pid_file"):  # tell the test which process is busy with this invocation
        with open(event["pid_file"], "w") as out:
            out.write(str(os.getpid()))
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid()}
"""


def test_a_worker_killed_mid_invocation_fails_that_invocation_only(ctx, tmp_path):
    from workshop.account.deploy import deploy_function

    lam = ctx.client("lambda")
    deploy_function(ctx.aws, ctx.names, "sleeper", {"app.py": SLEEPER}, timeout=30)
    deploy_function(ctx.aws, ctx.names, "bystander", {"app.py": SLEEPER}, timeout=30)
    pid_file = tmp_path / "busy.pid"
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(
            lam.invoke,
            FunctionName=ctx.names.function("sleeper"),
            Payload=json.dumps({"sleep": 20, "pid_file": str(pid_file)}).encode(),
        )
        busy = int(wait_for(lambda: pid_file.is_file() and pid_file.read_text(), "the invocation to start"))
        os.kill(busy, signal.SIGKILL)
        response = pending.result(timeout=60)
    body = json.loads(response["Payload"].read())
    assert response.get("FunctionError") == "Unhandled" and body["errorType"].startswith("Runtime."), body
    again = json.loads(lam.invoke(FunctionName=ctx.names.function("sleeper"), Payload=b"{}")["Payload"].read())
    assert again["pid"] != busy and psutil.pid_exists(again["pid"]), "a fresh environment takes over"
    assert "pid" in json.loads(
        lam.invoke(FunctionName=ctx.names.function("bystander"), Payload=b"{}")["Payload"].read()
    )


# ---- teardown of a class among decoys --------------------------------------------------------


@pytest.mark.slow
def test_teardown_of_a_class_of_30_removes_exactly_the_class(emulator, backend, prefix):
    base = f"{prefix}c"
    members = [f"{base}-{n:02d}" for n in range(1, 31)]
    setup = run_script(emulator, "setup_env.py", "--participants", "30", "--prefix", base)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    s3, sqs = backend.client("s3"), backend.client("sqs")
    decoys = {
        f"{base}-01x-untagged": None,  # a name that starts like a member's, no tag
        f"{base}-31-outsider": f"{base}-31",  # a 31st participant, not in this class
        f"{base}-02-foreign": "someone-else",  # a member's prefix, another's tag
        f"z{base}-01-tagged-only": f"{base}-01",
    }  # a member's tag, not its prefix
    for name, tag in decoys.items():
        s3.create_bucket(Bucket=name)
        sqs.create_queue(QueueName=name, **({"tags": {TAG_KEY: tag}} if tag else {}))
        if tag:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": TAG_KEY, "Value": tag}]})
    teardown = run_script(emulator, "teardown_env.py", "--participants", "30", "--prefix", base)
    assert teardown.returncode == 0, teardown.stdout + teardown.stderr
    left = {member: inventory.find(backend, Names(member)) for member in members}
    assert not any(left.values()), {member: found for member, found in left.items() if found}
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert set(decoys) <= buckets, "no decoy bucket was touched"
    assert all(sqs.get_queue_url(QueueName=name) for name in decoys), "no decoy queue was touched"


# ---- restarts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["terminate", "kill"])
def test_a_restart_mid_run_loses_nothing_the_pipeline_had_accepted(tmp_path, monkeypatch, how):
    """The emulator stopped while 150 files are in every stage of the pipeline (SIGTERM: a
    clean stop; SIGKILL: a crash, after the last snapshot), then started again: every file
    still ends archived or rejected, and every record of a good file is delivered once."""
    from workshop.account import environment
    from workshop.core import backend as backends
    from workshop.core.launcher import free_port
    from workshop.teaching import grading

    files = orders.generate(150, seed=31, malformed=0.05, duplicates=0.1)
    records = sum(len(rows_of(f)) for f in files if f.expected == orders.GOOD)
    port = free_port()
    with emulator_process(tmp_path, port=port, persist=True, stop=how) as env:
        aws = backends.from_environment(env)
        names = aws.names("restart")
        environment.provision(aws, names)
        capstone.provision(aws, names)
        capstone.deploy(aws, names, [capstone.ORDERS])
        ctx = grading.Context(aws=aws, names=names, workdir=tmp_path)
        upload(ctx, files)
        uploaded_at = time.time()
        time.sleep(1.0)  # mid-run: files in incoming, in the intake, records on their way
        if how == "kill":  # a crash loses what changed after the last snapshot: wait for one that holds the uploads
            wait_for_snapshot_after(env, uploaded_at)
        settled_before = output_count(ctx)
    assert settled_before < records, "the run was over before the restart: nothing tested"

    with emulator_process(tmp_path, port=port, persist=True) as env:
        aws = backends.from_environment(env)
        ledger = pd.DataFrame(
            wait_for(
                lambda: capstone.settled(aws, names, [f.key for f in files]),
                "150 files settled after the restart",
                timeout=240,
                max_interval=2.0,
            )
        )
    expected = Counter(f.expected for f in files)
    outcome = ledger["ended_in"].value_counts()
    assert outcome.get("archive", 0) == expected[orders.GOOD], outcome
    assert outcome.get("error", 0) == expected[orders.MALFORMED] + expected[orders.DUPLICATE], outcome
    assert ledger["records"].sum() == ledger["delivered"].sum() == records
