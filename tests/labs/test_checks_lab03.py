"""Lab 3's checks: the solution is correct, and each typical mistake is caught by name."""

from __future__ import annotations

import os

import nbformat
import pytest

from workshop.account import environment
from workshop.account.deploy import deploy_function
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.teaching import grading, steps

COPY_THEN_DELETE = """    try:
        s3.copy_object(CopySource={"Bucket": source, "Key": key}, Bucket=target, Key=key,
                       Metadata=safe, MetadataDirective="REPLACE")
    except s3.exceptions.NoSuchKey:
        return  # a delivery of the same event running beside this one moved it first
    s3.delete_object(Bucket=source, Key=key)"""
DELETE_THEN_COPY = """    s3.delete_object(Bucket=source, Key=key)
    try:
        s3.copy_object(CopySource={"Bucket": source, "Key": key}, Bucket=target, Key=key,
                       Metadata=safe, MetadataDirective="REPLACE")
    except s3.exceptions.NoSuchKey:
        return  # a delivery of the same event running beside this one moved it first"""


def written(folder: str, name: str) -> str:
    notebook = nbformat.read(ROOT / folder / "03_error_bucket_alarm.ipynb", as_version=4)
    return next(c.source for c in notebook.cells if c.source.startswith(f"%%writefile handlers/{name}.py")).split(
        "\n", 1
    )[1]


DIGESTER, PROCESSOR = written("solutions", "digester"), written("solutions", "processor")


@pytest.fixture(scope="module")
def step3(backend):
    """A participant brought to the start of step 3 once, shared by this module's tests."""
    names = backend.names(f"lab3-{os.getpid() % 1000}")
    environment.provision(backend, names)
    steps.complete(backend, names.prefix, 3)
    sqs, sns = backend.client("sqs"), backend.client("sns")
    url = sqs.get_queue_url(QueueName=names.queue("alarm-inbox"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name=names.topic("digester-alarm"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return names, topic


@pytest.fixture
def ctx3(step3, backend, tmp_path):
    names, _ = step3
    (tmp_path / "handlers").mkdir()
    return grading.Context(aws=backend, names=names, workdir=tmp_path)


def deploy(ctx, step3, digester=None, processor=None):
    names, topic = step3
    if digester is not None:
        (ctx.workdir / "handlers" / "digester.py").write_text(digester)
        deploy_function(
            ctx.aws,
            names,
            "digester",
            {"app.py": digester},
            environment={
                "TABLE": names.table("documents-received"),
                "IN_PROGRESS_BUCKET": names.bucket("in-progress"),
                "ERROR_BUCKET": names.bucket("error"),
                "ALARM_TOPIC_ARN": topic,
            },
        )
    if processor is not None:
        (ctx.workdir / "handlers" / "processor.py").write_text(processor)
        deploy_function(
            ctx.aws,
            names,
            "processor",
            {"app.py": processor},
            environment={"PROCESSED_BUCKET": names.bucket("processed")},
        )


def verdict(ctx, exercise_id):
    found = grading.evaluate(exercise_id, ctx)
    return found.outcome, found.message


def test_untouched_then_solved(ctx3, step3):
    deploy(ctx3, step3, written("labs", "digester"), written("labs", "processor"))
    assert [verdict(ctx3, e)[0] for e in ("3.1", "3.2", "3.3")] == [grading.Outcome.NOT_ATTEMPTED] * 3
    behaviour_only = grading.Context(aws=ctx3.aws, names=ctx3.names, workdir=ctx3.workdir / "handlers")
    assert grading.evaluate("1.1", behaviour_only).outcome is grading.Outcome.CORRECT, (
        "an untouched lab 3 keeps step 1 working, so catching up does not redo it"
    )
    deploy(ctx3, step3, DIGESTER, PROCESSOR)
    for exercise_id in ("3.1", "3.2", "3.3", "1.1", "2.2"):
        assert verdict(ctx3, exercise_id)[0] is grading.Outcome.CORRECT, verdict(ctx3, exercise_id)


@pytest.mark.parametrize(
    "change, exercise_id, expected",
    [
        ((COPY_THEN_DELETE, DELETE_THEN_COPY), "3.1", "Copy first, then delete"),  # the typical mistake
        (('move(bucket, key, ERROR, {"reason": reason})', "move(bucket, key, ERROR, {})"), "3.1", "'reason'"),
        (("move(bucket, key, IN_PROGRESS, {})", "move(bucket, key, ERROR, {})"), "3.1", "good files go to"),
        # A redelivery of an unfinished upload rejected as a duplicate: the false alarm of the naive digester.
        (
            ('        if status == "duplicate":\n', '        if status in ("duplicate", "redelivery"):\n'),
            "3.1",
            "rejected a redelivery",
        ),
        # A redelivery of an unfinished upload left where it is: the interrupted move never finishes.
        (
            (
                "        else:\n            move(bucket, key, IN_PROGRESS, {})",
                '        elif status == "new":\n            move(bucket, key, IN_PROGRESS, {})',
            ),
            "3.1",
            "must finish the move",
        ),
        # The redelivery of an upload routed before moves a later upload of the same bytes with it.
        (
            (
                '        if status == "done before":\n            route = "done before"\n        elif reason:\n',
                "        if reason:\n",
            ),
            "3.1",
            "With status 'done before', leave it",
        ),
        # Another upload of the same content let through.
        (('        reason = "duplicate content"\n', "        pass\n"), "3.1", "a duplicate goes to"),
        (
            ('Message=json.dumps({"key": key, "reason": reason})', 'Message=json.dumps({"key": key})'),
            "3.2",
            "has no 'reason'",
        ),
        (
            ('Message=json.dumps({"key": key, "reason": reason})', 'Message=f"rejected {key}: {reason}"'),
            "3.2",
            "not JSON",
        ),
    ],
)
def test_digester_mistakes_are_named(ctx3, step3, change, exercise_id, expected):
    old, new = change
    assert old in DIGESTER
    deploy(ctx3, step3, digester=DIGESTER.replace(old, new))
    status, message = verdict(ctx3, exercise_id)
    assert status is grading.Outcome.INCORRECT and expected in message, message


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("        s3.delete_object(Bucket=bucket, Key=key)\n", "", "delete it once processed"),
        ('int(r["quantity"]) * float(r["unit_price"])', 'float(r["unit_price"])', "'total' is 52.65"),
        ('ContentType="application/json"', 'ContentType="text/plain"', "application/json"),
        # Without its guard, a redelivered event whose file is processed and gone crashes the processor.
        (
            "        except s3.exceptions.NoSuchKey:\n            continue",
            "        except KeyError:\n            continue",
            "the same event delivered again",
        ),
    ],
)
def test_processor_mistakes_are_named(ctx3, step3, old, new, expected):
    assert old in PROCESSOR
    deploy(ctx3, step3, processor=PROCESSOR.replace(old, new))
    status, message = verdict(ctx3, "3.3")
    assert status is grading.Outcome.INCORRECT and expected in message, message
