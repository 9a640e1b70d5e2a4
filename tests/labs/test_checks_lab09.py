"""Lab 9, the capstone: the pipeline conserves every input under duplicate deliveries, the
solution is correct, and each typical mistake is caught by name."""

from __future__ import annotations

import json
from collections import Counter

import nbformat
import pandas as pd
import pytest

from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.core.waiting import wait_for
from workshop.lab_helpers import capstone, chaos, orders
from workshop.teaching import grading
from workshop.teaching.checks import lab09_capstone

# The lab's answer lives here and in solutions/09, never in the kit or the walkthrough a learner reads.
RETURNS = capstone.Channel(
    "returns", id_field="return_id", group_field="customer", required=("return_id", "order_id", "customer", "reason")
)


@pytest.fixture
def lab(ctx, in_process_backend):
    """What the lab's first cell gives: the shared resources, and the orders channel deployed."""
    capstone.provision(ctx.aws, ctx.names)
    capstone.deploy(ctx.aws, ctx.names, [capstone.ORDERS])
    return ctx


def verdict(ctx, exercise_id):
    found = grading.evaluate(exercise_id, ctx)
    return found.outcome, found.message


def objects(ctx, purpose):
    s3 = ctx.client("s3")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=ctx.names.bucket(purpose)).get("Contents", [])]


def test_every_file_and_record_is_accounted_for_when_s3_and_sqs_deliver_twice(lab):
    """The capstone's conservation: incoming = taken in + rejected, every record of a file taken in
    delivered exactly once to the output, one alarm per rejected file, with 30% duplicate deliveries."""
    capstone.deploy(lab.aws, lab.names, [capstone.ORDERS, RETURNS])
    day = orders.generate(60, seed=41, malformed=0.15, duplicates=0.15) + capstone.returns_files(10, seed=41)
    s3 = lab.client("s3")
    with chaos.switched(duplicate_rate=0.3):
        for made in day:
            s3.put_object(Bucket=lab.names.bucket(capstone.INCOMING), Key=made.key, Body=made.body)
        rows = wait_for(
            lambda: capstone.settled(lab.aws, lab.names, [m.key for m in day]), "the day settled", timeout=180
        )
    ledger = pd.DataFrame(rows)
    expected = Counter(m.expected for m in day)
    assert capstone.unaccounted(rows) == []
    assert (ledger["ended_in"] == "archive").sum() == expected[orders.GOOD]
    assert (ledger["ended_in"] == "error").sum() == expected[orders.MALFORMED] + expected[orders.DUPLICATE]
    assert ledger.loc[ledger["ended_in"] == "error", "reason"].str.len().gt(0).all(), "every rejection has its reason"
    good_records = sum(len(body_rows(m)) for m in day if m.expected == orders.GOOD)
    assert ledger["records"].sum() == ledger["delivered"].sum() == good_records
    assert len(objects(lab, capstone.OUTPUT)) == good_records, "one output per record, none twice"
    assert objects(lab, capstone.INCOMING) == []
    alarmed = {json.loads(json.loads(m["Body"])["Message"])["key"] for m in drain(lab, capstone.ALARM_INBOX)}
    assert alarmed == set(ledger.loc[ledger["ended_in"] == "error", "file"]), "one alarm per rejected file"


def body_rows(made):
    if made.key.endswith(".json"):
        return json.loads(made.body)["orders"]
    return made.body.decode().strip().splitlines()[1:]


def drain(ctx, purpose):
    sqs = ctx.client("sqs")
    url = sqs.get_queue_url(QueueName=ctx.names.queue(purpose))["QueueUrl"]
    messages = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages"):
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def test_the_unread_rejections_alarm_fires_and_clears(lab):
    s3 = lab.client("s3")
    s3.put_object(Bucket=lab.names.bucket(capstone.INCOMING), Key="orders/empty.csv", Body=b"")
    cloudwatch = lab.client("cloudwatch")

    def state():
        return cloudwatch.describe_alarms(AlarmNames=[lab.names.alarm(capstone.REJECTIONS_ALARM)])["MetricAlarms"][0][
            "StateValue"
        ]

    wait_for(lambda: state() == "ALARM", "the alarm while a rejection waits unread", timeout=60)
    assert len(drain(lab, capstone.ALARM_INBOX)) >= 1
    wait_for(lambda: state() == "OK", "the alarm once the inbox is read", timeout=60)


def test_untouched_then_solved_and_the_check_leaves_nothing_behind(lab):
    assert verdict(lab, "9.1")[0] is grading.Outcome.NOT_ATTEMPTED
    capstone.deploy(lab.aws, lab.names, [capstone.ORDERS, RETURNS])
    status, message = verdict(lab, "9.1")
    assert status is grading.Outcome.CORRECT, message
    assert objects(lab, capstone.OUTPUT) == [] and objects(lab, capstone.ARCHIVE) == []
    items = lab.client("dynamodb").scan(TableName=lab.names.table(capstone.RECORDS))["Items"]
    assert items == [], "the check removes its own record"


@pytest.mark.parametrize(
    "channel, expected",
    [
        (
            capstone.Channel(
                "return",
                id_field="return_id",
                group_field="customer",
                required=("return_id", "order_id", "customer", "reason"),
            ),
            "a channel 'return' but no 'returns'",
        ),
        (
            capstone.Channel(
                "returns",
                id_field="return_id",
                group_field="customer_id",
                required=("return_id", "order_id", "customer_id", "reason"),
            ),
            "orders jobs per 'customer_id'",
        ),
        (
            capstone.Channel(
                "returns",
                id_field="order_id",
                group_field="customer",
                required=("return_id", "order_id", "customer", "reason"),
            ),
            "two returns of the same order would be one record",
        ),
        (
            capstone.Channel(
                "returns",
                id_field="return_id",
                group_field="customer",
                required=("return_id", "order_id", "customer", "reason"),
                numeric=("reason",),
            ),
            "wants reason to be a number",
        ),
    ],
)
def test_channel_mistakes_are_named(lab, monkeypatch, channel, expected):
    monkeypatch.setattr(lab09_capstone, "ARRIVAL_SECONDS", 4.0)
    capstone.deploy(lab.aws, lab.names, [capstone.ORDERS, channel])
    status, message = verdict(lab, "9.1")
    assert status is grading.Outcome.INCORRECT and expected in message, message


def test_the_learners_own_entry_is_judged_field_by_field_each_fault_with_its_hint(lab, monkeypatch):
    """An entry that names returns by their order, orders nothing and forgets two columns: three faults, and no
    returns file uploaded to find out."""
    monkeypatch.setattr(lab09_capstone, "ARRIVAL_SECONDS", 4.0)
    capstone.deploy(
        lab.aws,
        lab.names,
        [
            capstone.ORDERS,
            capstone.Channel("returns", id_field="order_id", group_field="order_id", required=("order_id", "customer")),
        ],
    )
    found = grading.evaluate("9.1", lab)
    assert found.outcome is grading.Outcome.INCORRECT, found.message
    messages = [fault.message for fault in found.faults]
    assert len(messages) == 3, messages
    assert (
        "identifies a record by 'order_id'" in messages[0]
        and "orders jobs per 'order_id'" in messages[1]
        and "does not require return_id, reason" in messages[2]
    ), messages
    assert [f.hint.split("=")[0] for f in found.faults] == ["id_field", "group_field", "required"]
    assert objects(lab, capstone.INCOMING) == [] and objects(lab, capstone.ARCHIVE) == []


def test_the_walkthrough_and_the_kit_do_not_give_the_exercise_away():
    """9.1 asks for the returns channel: notebook 09 shows the mechanism with another channel, and the kit
    holds no ready-made returns entry to copy."""
    assert not hasattr(capstone, "RETURNS")
    walkthrough = nbformat.read(ROOT / "notebooks" / "09_capstone.ipynb", as_version=4)
    code = "\n".join(c.source for c in walkthrough.cells if c.cell_type == "code")
    assert "RETURNS" not in code and '"returns"' not in code and "return_id" not in code
    assert 'capstone.Channel("stock"' in code, "the walkthrough adds a channel of its own"


def test_a_channel_entry_is_validated_when_written():
    with pytest.raises(Exception, match="must be one of its required fields"):
        capstone.Channel("returns", id_field="return_id", group_field="customer", required=("return_id",))
    with pytest.raises(Exception, match="lowercase"):
        capstone.Channel("Returns!", id_field="a", group_field="a", required=("a",))


def correct(ledger):
    taken = ledger["ended_in"] == "archive"
    unfinished = (ledger["records"] == 0) | (ledger["delivered"] + ledger["dead_lettered"] != ledger["records"])
    return list(ledger.loc[~ledger["ended_in"].isin(["archive", "error"]) | (taken & unfinished), "file"])


def only_files(ledger):
    return list(ledger.loc[~ledger["ended_in"].isin(["archive", "error"]), "file"])


def rejected_is_lost(ledger):
    return list(ledger.loc[ledger["ended_in"] != "archive", "file"])


def ignores_dead_letters(ledger):
    bad = ~ledger["ended_in"].isin(["archive", "error"]) | (
        ledger["ended_in"].eq("archive") & (ledger["delivered"] != ledger["records"])
    )
    return list(ledger.loc[bad, "file"])


def crashes(ledger):
    return ledger["nope"]


@pytest.mark.parametrize(
    "lost, outcome, expected",
    [
        (correct, grading.Outcome.CORRECT, "tells every lost file"),
        (lambda ledger: None, grading.Outcome.NOT_ATTEMPTED, "placeholder"),
        (only_files, grading.Outcome.INCORRECT, "misses ['orders/g.csv']"),
        (rejected_is_lost, grading.Outcome.INCORRECT, "a rejected file is accounted for"),
        (ignores_dead_letters, grading.Outcome.INCORRECT, "dead-letter queue is accounted for"),
        (crashes, grading.Outcome.INCORRECT, "lost() raised KeyError"),
        (lambda ledger: len(ledger), grading.Outcome.INCORRECT, "return the names of the files"),
    ],
)
def test_conservation_function_is_judged_on_ledgers(ctx, lost, outcome, expected):
    ctx.namespace["lost"] = lost
    status, message = verdict(ctx, "9.2")
    assert status is outcome and expected in message, message


def test_no_conservation_function_is_not_attempted(ctx):
    assert verdict(ctx, "9.2")[0] is grading.Outcome.NOT_ATTEMPTED
