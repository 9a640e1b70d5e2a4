"""Lab 1's checks: the solution is correct, and each typical mistake is caught by name."""

from __future__ import annotations

import nbformat
import pytest
from botocore.exceptions import ClientError

from workshop.account.deploy import deploy_function
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.teaching import grading


def handler_source(folder: str) -> str:
    notebook = nbformat.read(ROOT / folder / "01_s3_trigger.ipynb", as_version=4)
    source = next(c.source for c in notebook.cells if c.source.startswith("%%writefile handlers/digester.py"))
    return source.split("\n", 1)[1]


SOLVED = handler_source("solutions")  # its BEGIN/END SOLUTION markers are plain comments


def deploy_digester(ctx, source):
    (ctx.workdir / "handlers" / "digester.py").write_text(source)
    return deploy_function(ctx.aws, ctx.names, "digester", {"app.py": source})


def notify(ctx, arn, events=("s3:ObjectCreated:*",), rules=(("prefix", "orders/"), ("suffix", ".csv")), copies=1):
    entry = {"LambdaFunctionArn": arn, "Events": list(events)}
    if rules:
        entry["Filter"] = {"Key": {"FilterRules": [{"Name": n, "Value": v} for n, v in rules]}}
    ctx.client("s3").put_bucket_notification_configuration(
        Bucket=ctx.names.bucket("incoming"),
        NotificationConfiguration={"LambdaFunctionConfigurations": [dict(entry, Id=f"n{i}") for i in range(copies)]},
    )


def verdict(ctx, exercise_id):
    found = grading.evaluate(exercise_id, ctx)
    return found.outcome, found.message


def test_untouched_then_solved(ctx):
    untouched = handler_source("labs")
    assert "# TODO:" in untouched
    deploy_digester(ctx, untouched)
    assert verdict(ctx, "1.1")[0] is grading.Outcome.NOT_ATTEMPTED
    assert verdict(ctx, "1.2")[0] is grading.Outcome.NOT_ATTEMPTED
    arn = deploy_digester(ctx, SOLVED)
    notify(ctx, arn)
    assert verdict(ctx, "1.1") == (grading.Outcome.CORRECT, verdict(ctx, "1.1")[1])
    assert verdict(ctx, "1.2")[0] is grading.Outcome.CORRECT, verdict(ctx, "1.2")


@pytest.mark.parametrize(
    "decode, expected",
    [
        ('record["s3"]["object"]["key"]', "decode the key with urllib.parse.unquote_plus"),  # the typical mistake
        ('__import__("urllib.parse").parse.unquote(record["s3"]["object"]["key"])', "unquote_plus"),
    ],
)
def test_undecoded_keys_are_caught(ctx, decode, expected):
    deploy_digester(ctx, SOLVED.replace('unquote_plus(record["s3"]["object"]["key"])', decode))
    status, message = verdict(ctx, "1.1")
    assert status is grading.Outcome.INCORRECT and expected in message and "étude+1 100%.csv" in message


def test_a_handler_that_returns_nothing_is_told_what_to_return(ctx):
    deploy_digester(ctx, SOLVED.replace('    return {"received": received}', "    return None"))
    status, message = verdict(ctx, "1.1")
    assert status is grading.Outcome.INCORRECT and "'received'" in message


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"rules": ()}, "no prefix filter"),
        ({"rules": (("prefix", "orders/"),)}, "no suffix filter"),
        ({"rules": (("prefix", "order"), ("suffix", ".csv"))}, "prefix 'order'"),
        ({"events": ("s3:ObjectCreated:Put",)}, "multipart uploads"),
        ({"events": ("s3:ObjectRemoved:*",)}, "a new order file is an s3:ObjectCreated event"),
    ],
)
def test_notification_mistakes_are_named(ctx, options, expected):
    notify(ctx, deploy_digester(ctx, SOLVED), **options)
    status, message = verdict(ctx, "1.2")
    assert status is grading.Outcome.INCORRECT and expected in message
    assert ctx.names.bucket("incoming") in message


def test_the_same_trigger_twice_is_refused_by_s3(ctx):
    """Two entries matching the same uploads are ambiguous: S3 refuses the configuration
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html),
    so the learner sees AWS's error and the bucket keeps its earlier configuration."""
    with pytest.raises(ClientError) as error:
        notify(ctx, deploy_digester(ctx, SOLVED), copies=2)
    assert "ambiguously defined" in error.value.response["Error"]["Message"]
    assert verdict(ctx, "1.2")[0] is not grading.Outcome.CORRECT


def test_a_notification_to_another_function_is_incorrect(ctx):
    deploy_digester(ctx, SOLVED)
    other = deploy_function(ctx.aws, ctx.names, "other", {"app.py": "def handler(e, c):\n    return 1\n"})
    notify(ctx, other)
    status, message = verdict(ctx, "1.2")
    assert status is grading.Outcome.INCORRECT and ctx.names.function("other") in message
