"""Lab 4's checks: the solution is correct, and each typical mistake is caught by name."""

from __future__ import annotations

import json

import nbformat
import pytest

from workshop.account.deploy import deploy_function
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.teaching import grading

UNWRAP = 's3_records = json.loads(record["Sns"]["Message"]).get("Records", [])'
EU_POLICY = {"Records": {"s3": {"object": {"key": [{"prefix": "summaries/orders/eu/"}]}}}}


def handler_source(folder: str) -> str:
    notebook = nbformat.read(ROOT / folder / "04_fan_out.ipynb", as_version=4)
    return next(
        c.source for c in notebook.cells if c.source.startswith("%%writefile handlers/notify_customers.py")
    ).split("\n", 1)[1]


SOLVED = handler_source("solutions")


def deploy_notifier(ctx, source):
    (ctx.workdir / "handlers" / "notify_customers.py").write_text(source)
    deploy_function(ctx.aws, ctx.names, "notify-customers", {"app.py": source})


def subscribe_eu(ctx, **attributes):
    sns, sqs = ctx.client("sns"), ctx.client("sqs")
    topic = sns.create_topic(Name=ctx.names.topic("order-events"))["TopicArn"]
    url = sqs.create_queue(QueueName=ctx.names.queue("eu-orders"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)


def verdict(ctx, exercise_id):
    found = grading.evaluate(exercise_id, ctx)
    return found.outcome, found.message


def test_untouched_then_solved(ctx):
    deploy_notifier(ctx, handler_source("labs"))
    assert verdict(ctx, "4.1")[0] is grading.Outcome.NOT_ATTEMPTED
    assert verdict(ctx, "4.2")[0] is grading.Outcome.NOT_ATTEMPTED
    deploy_notifier(ctx, SOLVED)
    subscribe_eu(ctx, FilterPolicyScope="MessageBody", FilterPolicy=json.dumps(EU_POLICY))
    assert verdict(ctx, "4.1")[0] is grading.Outcome.CORRECT, verdict(ctx, "4.1")
    assert verdict(ctx, "4.2")[0] is grading.Outcome.CORRECT, verdict(ctx, "4.2")


@pytest.mark.parametrize(
    "unwrap, expected",
    [
        ("s3_records = [record]", "inside record['Sns']['Message']"),  # the typical mistake: no unwrapping
        ('s3_records = record["Sns"]["Message"]["Records"]', "inside record['Sns']['Message']"),
        ('s3_records = json.loads(record["Sns"]["Message"])["Records"]', "test event"),
    ],
)
def test_unwrapping_mistakes_are_named(ctx, unwrap, expected):
    assert UNWRAP in SOLVED
    deploy_notifier(ctx, SOLVED.replace(UNWRAP, unwrap))
    status, message = verdict(ctx, "4.1")
    assert status is grading.Outcome.INCORRECT and expected in message, message


@pytest.mark.parametrize(
    "attributes, expected",
    [
        ({}, "no filter policy"),
        (
            {"FilterPolicy": json.dumps({"key": [{"prefix": "summaries/orders/eu/"}]})},
            "FilterPolicyScope='MessageBody'",
        ),
        (
            {
                "FilterPolicyScope": "MessageBody",
                "FilterPolicy": json.dumps({"Records": {"s3": {"object": {"key": [{"prefix": "orders/eu/"}]}}}}),
            },
            "does not let a summary",
        ),
        (
            {
                "FilterPolicyScope": "MessageBody",
                "FilterPolicy": json.dumps({"Records": {"s3": {"object": {"key": [{"prefix": "summaries/"}]}}}}),
            },
            "also lets US summaries",
        ),
    ],
)
def test_filter_policy_mistakes_are_named(ctx, attributes, expected):
    subscribe_eu(ctx, **attributes)
    status, message = verdict(ctx, "4.2")
    assert status is grading.Outcome.INCORRECT and expected in message, message
