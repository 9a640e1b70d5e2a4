"""Lab 4, fan-out: the notifier unwraps S3 events from SNS; the EU queue's filter policy."""

from __future__ import annotations

import json
import uuid
from typing import Any

from workshop.aws import events as aws_events
from workshop.aws import filter_patterns
from workshop.teaching.checks.support import (
    describe_error,
    invoke_raw,
    require_function,
    require_handler_attempted,
    s3_put_event,
)
from workshop.teaching.grading import Context, Incorrect, NotAttempted, exercise, question

SOLUTION = "04_fan_out.ipynb"
NOTIFIER, NOTIFIER_FILE = "notify-customers", "handlers/notify_customers.py"
EU_PREFIX = "summaries/orders/eu/"


def _sns_wrapped(ctx: Context, message: dict[str, Any]) -> dict[str, Any]:
    """An SNS event for Lambda carrying ``message`` as its JSON string, as the topic sends it."""
    topic = f"arn:aws:sns:{ctx.aws.region}:{ctx.aws.account_id()}:{ctx.names.topic('order-events')}"
    notification = aws_events.sns_notification(
        message_id=str(uuid.uuid4()),
        topic_arn=topic,
        subject="Amazon S3 Notification",
        message=json.dumps(message),
        message_attributes={},
        unsubscribe_url="https://sns.invalid/unsubscribe",
        signing_cert_url="https://sns.invalid/cert.pem",
    )
    return {"Records": [aws_events.sns_lambda_record(notification, subscription_arn=f"{topic}:{uuid.uuid4()}")]}


@exercise(
    "4.1",
    "Unwrap the S3 event",
    solution=SOLUTION,
    hints=(
        "Print one record of the event: the S3 event is not at record['s3'] but inside record['Sns']['Message'].",
        "record['Sns']['Message'] is a string: json.loads it to get the S3 event, whose 'Records' are the S3 records.",
        "s3_records = json.loads(record['Sns']['Message']).get('Records', []) — S3's test event has no Records.",
    ),
)
def unwrap(ctx: Context) -> str:
    require_handler_attempted(ctx, NOTIFIER_FILE)
    name = require_function(ctx, NOTIFIER)["FunctionName"]
    processed = ctx.names.bucket("processed")
    key = f"checks/4.1 summary {uuid.uuid4().hex[:8]}.json"  # outside summaries/: no real fan-out
    summary = {"source": "orders/eu/x.csv", "orders": 2, "total": 17.0, "customers": ["ana", "chen"]}
    s3 = ctx.client("s3")
    s3.put_object(Bucket=processed, Key=key, Body=json.dumps(summary).encode(), ContentType="application/json")
    try:
        s3_event = s3_put_event(ctx, processed, key, 0, "4.1")
        result, error = invoke_raw(ctx, NOTIFIER, _sns_wrapped(ctx, s3_event))
        test_result, test_error = invoke_raw(
            ctx, NOTIFIER, _sns_wrapped(ctx, {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": processed})
        )
    finally:
        s3.delete_object(Bucket=processed, Key=key)
    if error is not None:
        text = f"{error.get('errorType')}: {error.get('errorMessage')}"
        if "'s3'" in text or "string indices" in text:
            raise Incorrect(
                f"{name} looked for the S3 record in the SNS record; it is inside "
                "record['Sns']['Message'], a JSON string to json.loads first"
            )
        raise Incorrect(describe_error(ctx, NOTIFIER, error))
    notified = result.get("notified") if isinstance(result, dict) else None
    if not notified:
        raise Incorrect(f"{name} notified nobody for a summary of ana and chen; it returned {result!r}")
    if notified[0].get("key") != key or notified[0].get("customers") != summary["customers"]:
        raise Incorrect(f"{name} returned {notified[0]!r}; expected key {key!r} and customers ['ana', 'chen']")
    if test_error is not None:
        raise Incorrect(
            f"{name} fails on S3's test event (a message without 'Records', sent when a notification "
            "is configured): use .get('Records', [])"
        )
    return f"{name} unwraps the S3 event from the SNS message and notifies ana and chen"


def _eu_subscription(ctx: Context) -> dict[str, str] | None:
    sns, sqs = ctx.client("sns"), ctx.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=ctx.names.queue("eu-orders"))["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        return None
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic_name = ctx.names.topic("order-events")
    for page in sns.get_paginator("list_subscriptions").paginate():
        for subscription in page["Subscriptions"]:
            if subscription["Endpoint"] == queue_arn and subscription["TopicArn"].endswith(f":{topic_name}"):
                return sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])["Attributes"]
    return None


def _summary_event(key: str) -> dict[str, Any]:
    return {
        "Records": [
            {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"object": {"key": key, "size": 120}}}
        ]
    }


@exercise(
    "4.2",
    "A filter policy for the EU team",
    solution=SOLUTION,
    hints=(
        "Subscribe with Attributes={'FilterPolicy': json.dumps(policy), 'FilterPolicyScope': ...}.",
        "S3 publishes no message attributes: the policy must match the message body, so "
        "FilterPolicyScope='MessageBody', and the policy follows the event's shape: Records → s3 → object → key.",
        f"policy = {{'Records': {{'s3': {{'object': {{'key': [{{'prefix': '{EU_PREFIX}'}}]}}}}}}}}",
    ),
)
def eu_filter(ctx: Context) -> str:
    attributes = _eu_subscription(ctx)
    queue = ctx.names.queue("eu-orders")
    if attributes is None:
        raise NotAttempted(f"{queue} is not subscribed to {ctx.names.topic('order-events')} yet")
    if not attributes.get("FilterPolicy"):
        raise Incorrect(f"{queue}'s subscription has no filter policy, so the EU team gets every order")
    if attributes.get("FilterPolicyScope", "MessageAttributes") != "MessageBody":
        raise Incorrect(
            f"{queue}'s filter policy looks at message attributes, and S3 publishes none, so nothing "
            "would ever arrive: set FilterPolicyScope='MessageBody'"
        )
    policy = json.loads(attributes["FilterPolicy"])
    wanted = _summary_event(f"{EU_PREFIX}2026%2F11+batch.csv.json")
    unwanted = _summary_event("summaries/orders/us/batch.csv.json")
    if not filter_patterns.matches(policy, wanted):
        raise Incorrect(f"{queue}'s filter policy {policy} does not let a summary under {EU_PREFIX!r} through")
    if filter_patterns.matches(policy, unwanted):
        raise Incorrect(f"{queue}'s filter policy {policy} also lets US summaries through")
    return f"{queue} receives summaries under {EU_PREFIX} only"


# ---- check your understanding: notebook 04 asks 4.q1-4.q2, the lab 4.q3-4.q4 ----------------

WALKTHROUGH = "notebooks/04_fan_out.ipynb"

question(
    "4.q1",
    "Unwrapping the SNS event",
    asked_in=WALKTHROUGH,
    answer="b",
    why={
        "a": "behind SNS each record is an SNS record: the S3 event sits inside it, as a string in Sns.Message",
        "b": "SNS hands Lambda an event of its own; the message published (the S3 event) is a JSON string in "
        "Sns.Message, and its keys are still URL-encoded",
        "c": "Sns.Message is a string, not a dict: indexing it with 'Records' raises a TypeError; parse it first",
    },
    hints=("Print type(record['Sns']['Message']). What do you do with a JSON string?",),
)

question(
    "4.q2",
    "Filtering on the S3 event",
    asked_in=WALKTHROUGH,
    answer="c",
    why={
        "a": "the default filter policy scope is the message attributes, and the S3 event is in the message body",
        "b": "raw delivery only drops the envelope for that subscriber; it does not change what a filter policy "
        "looks at",
        "c": "with FilterPolicyScope='MessageBody' the policy is matched against the message body, where the S3 "
        "event and its key are",
    },
    hints=("Where is the S3 event: in the message attributes or in the body? Which does a policy look at by default?",),
)

question(
    "4.q3",
    "One failing subscriber",
    asked_in=f"solutions/{SOLUTION}",
    answer="b",
    why={
        "a": "each subscription gets its own copy of every message; one subscriber failing holds up no other",
        "b": "SNS delivers to each subscription on its own, and Lambda retries the failed asynchronous invocations "
        "of that function only",
        "c": "a retry goes to the subscriber that failed, not to the whole topic",
    },
    hints=("Does a subscriber's failure travel back to the topic, or stay with that subscriber?",),
)

question(
    "4.q4",
    "A message the filter leaves out",
    asked_in=f"solutions/{SOLUTION}",
    answer="a",
    why={
        "a": "a filter policy belongs to one subscription: the message goes to every subscription whose policy "
        "matches, or that has none",
        "b": "the publisher never hears of filters: the publish succeeds and each subscription decides for itself",
        "c": "a filtered-out message is never sent to that queue; a visibility timeout applies only to messages a "
        "queue received",
    },
    hints=("Whose is a filter policy: the topic's, or one subscription's?",),
)
