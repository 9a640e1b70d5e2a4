"""SQS metrics, alarm evaluation and alarm notifications, on the emulator's compressed minute."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.emulator.test_event_delivery import queue
from tests.lambda_helpers import ready_names
from workshop.core.waiting import wait_for


@pytest.fixture
def names(backend, prefix):
    return ready_names(backend, prefix)


def _alarm_inbox(backend, names):
    sns = backend.client("sns")
    topic = sns.create_topic(Name=names.topic("ops"))["TopicArn"]
    url, arn = queue(backend, names, "ops-inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return topic, url


def _alarm_messages(backend, url, count, timeout=20):
    sqs, seen = backend.client("sqs"), []

    def more():
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            seen.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(seen) >= count and seen

    return wait_for(more, f"{count} alarm notifications", timeout=timeout)


def test_sqs_publishes_queue_metrics(backend, names):
    url, _ = queue(backend, names, "jobs")
    sqs = backend.client("sqs")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    cloudwatch = backend.client("cloudwatch")

    def visible():
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": names.queue("jobs")}],
            StartTime=datetime.now(UTC) - timedelta(minutes=5),
            EndTime=datetime.now(UTC),
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        return points and max(p["Maximum"] for p in points) == 3

    wait_for(visible, "the queue depth metric", timeout=10)
    own = [{"Name": "QueueName", "Value": names.queue("jobs")}]
    pages = cloudwatch.get_paginator("list_metrics").paginate(Namespace="AWS/SQS", Dimensions=own)
    metrics = {m["MetricName"] for page in pages for m in page["Metrics"] if m["Dimensions"] == own}
    assert {
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateAgeOfOldestMessage",
        "NumberOfMessagesSent",
        "NumberOfMessagesReceived",
        "NumberOfMessagesDeleted",
    } <= metrics


def test_backlog_alarm_fires_then_recovers_and_notifies(backend, names):
    topic, inbox = _alarm_inbox(backend, names)
    url, _ = queue(backend, names, "jobs")
    cloudwatch = backend.client("cloudwatch")
    alarm = names.alarm("backlog")
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        AlarmDescription="Too many jobs waiting",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "QueueName", "Value": names.queue("jobs")}],
        AlarmActions=[topic],
        OKActions=[topic],
    )
    assert cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"

    sqs = backend.client("sqs")
    for i in range(8):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    started = time.perf_counter()
    [fired] = _alarm_messages(backend, inbox, 1)
    elapsed = time.perf_counter() - started
    print(f"backlog alarm delivered {elapsed:.2f} s after the backlog formed")
    assert elapsed < 10
    assert fired["AlarmName"] == alarm and fired["NewStateValue"] == "ALARM"
    assert fired["OldStateValue"] in ("INSUFFICIENT_DATA", "OK")
    assert fired["Trigger"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert fired["Trigger"]["Dimensions"] == [{"value": names.queue("jobs"), "name": "QueueName"}]
    assert fired["Trigger"]["Threshold"] == 5.0 and fired["Region"] == "US East (N. Virginia)"
    assert fired["NewStateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [8]")
    assert cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "ALARM"

    sqs.purge_queue(QueueUrl=url)
    recovered = _alarm_messages(backend, inbox, 1)[0]
    assert recovered["NewStateValue"] == "OK" and recovered["OldStateValue"] == "ALARM"


def test_set_alarm_state_publishes_and_missing_data_can_breach(backend, names):
    topic, inbox = _alarm_inbox(backend, names)
    cloudwatch = backend.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=names.alarm("silence"),
        Namespace="Workshop",
        MetricName="Heartbeats",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=2,
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
        TreatMissingData="breaching",
        AlarmActions=[topic],
    )
    [message] = _alarm_messages(backend, inbox, 1)
    assert message["NewStateValue"] == "ALARM" and message["Trigger"]["TreatMissingData"] == "breaching"

    cloudwatch.put_metric_alarm(
        AlarmName=names.alarm("manual"),
        Namespace="Workshop",
        MetricName="Unused",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="ignore",
        AlarmActions=[topic],
    )
    cloudwatch.set_alarm_state(AlarmName=names.alarm("manual"), StateValue="ALARM", StateReason="testing the pager")
    [manual] = _alarm_messages(backend, inbox, 1)
    assert manual["AlarmName"] == names.alarm("manual") and manual["NewStateReason"] == "testing the pager"


def test_late_publications_never_leave_a_period_without_its_datapoint():
    """On a busy machine the minute's publication comes late (here 1.4 s for a 1 s minute): the
    alarm still judges the latest published datapoint and stays in ALARM, as on AWS, instead of
    flickering to INSUFFICIENT_DATA between publications."""
    import boto3
    from moto import mock_aws

    from workshop.emulator.cloudwatch import CloudWatch

    with mock_aws():
        sqs, cloudwatch = boto3.client("sqs", "us-east-1"), boto3.client("cloudwatch", "us-east-1")
        url = sqs.create_queue(QueueName="late-backlog")["QueueUrl"]
        for n in range(8):
            sqs.send_message(QueueUrl=url, MessageBody=str(n))
        cloudwatch.put_metric_alarm(
            AlarmName="late-backlog",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": "late-backlog"}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=5,
            ComparisonOperator="GreaterThanThreshold",
        )
        watcher = CloudWatch(service=None, minute_seconds=1.0)
        watcher.stop()  # driven by hand below, with late publications
        states = []
        for _ in range(4):
            watcher.publish_sqs_metrics()
            time.sleep(1.4)
            watcher.evaluate_alarms()
            states.append(cloudwatch.describe_alarms(AlarmNames=["late-backlog"])["MetricAlarms"][0]["StateValue"])
    assert states[1:] == ["ALARM"] * 3, states
