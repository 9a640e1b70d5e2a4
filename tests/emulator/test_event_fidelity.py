"""Events and answers the labs read, field by field against real AWS (facts in recorded_aws.py)."""

from __future__ import annotations

import base64
import json

from tests.emulator.recorded_aws import (
    RAW_DELIVERY_MAX_ATTRIBUTES,
    RECORDED_ALARM_REASON,
    RECORDED_ALARM_TRIGGER_KEYS,
    RECORDED_ERROR_LOG_EVENT,
    RECORDED_ERROR_LOG_LINES,
    RECORDED_RAW_BINARY,
    RECORDED_SIZE_BYTES,
    RECORDED_STATE_REASON_DATA_KEYS,
)
from tests.emulator.test_event_delivery import queue, receive_all
from tests.lambda_helpers import log_messages, ready_names
from workshop.account import deploy
from workshop.core.waiting import wait_for


def test_stream_records_carry_aws_size_bytes(backend, prefix):
    names = ready_names(backend, prefix)
    dynamodb, streams = backend.client("dynamodb"), backend.client("dynamodbstreams")
    table = names.table("sized")
    stream_arn = dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "N"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        Tags=[{"Key": k, "Value": v} for k, v in names.tag.items()],
    )["TableDescription"]["LatestStreamArn"]
    # AWS's sample: INSERT, MODIFY, REMOVE of item 101 (the first three recorded sizes)
    dynamodb.put_item(TableName=table, Item={"Id": {"N": "101"}, "Message": {"S": "New item!"}})
    dynamodb.update_item(
        TableName=table,
        Key={"Id": {"N": "101"}},
        UpdateExpression="SET Message = :m",
        ExpressionAttributeValues={":m": {"S": "This item has changed"}},
    )
    dynamodb.delete_item(TableName=table, Key={"Id": {"N": "101"}})
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [r["dynamodb"]["SizeBytes"] for r in records] == [size for *_, size in RECORDED_SIZE_BYTES[:3]]


def test_raw_delivery_passes_binary_attributes_as_bytes(backend, prefix):
    names = ready_names(backend, prefix)
    sns = backend.client("sns")
    topic = sns.create_topic(Name=names.topic("binary"), Tags=[{"Key": k, "Value": v} for k, v in names.tag.items()])
    url, arn = queue(backend, names, "binary")
    sns.subscribe(TopicArn=topic["TopicArn"], Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    sent = RECORDED_RAW_BINARY["published"]
    sns.publish(
        TopicArn=topic["TopicArn"],
        Message="This is a test message",
        MessageAttributes={"store": {"DataType": "Binary", "BinaryValue": sent}},
    )
    many = {f"a{i}": {"DataType": "String", "StringValue": "x"} for i in range(RAW_DELIVERY_MAX_ATTRIBUTES + 1)}
    sns.publish(TopicArn=topic["TopicArn"], Message="too many attributes", MessageAttributes=many)
    [message] = receive_all(backend, url, 1)
    assert message["MessageAttributes"]["store"] == {
        "BinaryValue": RECORDED_RAW_BINARY["received"],
        "DataType": RECORDED_RAW_BINARY["DataType"],
    }
    assert message["Body"] == "This is a test message"
    # the message with 11 attributes is discarded, not delivered
    assert not backend.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages")


def test_an_alarm_message_names_datapoints_to_alarm_only_when_set(backend, prefix):
    names = ready_names(backend, prefix)
    sns = backend.client("sns")
    topic = sns.create_topic(Name=names.topic("pager"), Tags=[{"Key": k, "Value": v} for k, v in names.tag.items()])
    url, arn = queue(backend, names, "pager")
    sns.subscribe(TopicArn=topic["TopicArn"], Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    cloudwatch = backend.client("cloudwatch")
    common = dict(
        Namespace="Workshop",
        MetricName="Heartbeats",
        Statistic="Average",
        Unit="Seconds",
        Dimensions=[{"Name": "InstanceId", "Value": "abc"}],
        Period=60,
        EvaluationPeriods=2,
        Threshold=2,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="breaching",
        AlarmActions=[topic["TopicArn"]],
    )
    cloudwatch.put_metric_alarm(AlarmName=names.alarm("unset"), **common)
    [unset] = [json.loads(m["Body"]) for m in receive_all(backend, url, 1, timeout=30)]
    assert sorted(unset["Trigger"]) == RECORDED_ALARM_TRIGGER_KEYS
    assert unset["NewStateReason"] == RECORDED_ALARM_REASON
    [described] = cloudwatch.describe_alarms(AlarmNames=[names.alarm("unset")])["MetricAlarms"]
    reason_data = json.loads(described["StateReasonData"])
    assert set(RECORDED_STATE_REASON_DATA_KEYS) <= set(reason_data)
    assert (reason_data["unit"], reason_data["statistic"], reason_data["period"]) == ("Seconds", "Average", 60)

    cloudwatch.put_metric_alarm(AlarmName=names.alarm("set"), DatapointsToAlarm=1, **common)
    [given] = [json.loads(m["Body"]) for m in receive_all(backend, url, 1, timeout=30)]
    assert given["Trigger"]["DatapointsToAlarm"] == 1
    assert sorted(given["Trigger"]) == sorted([*RECORDED_ALARM_TRIGGER_KEYS, "DatapointsToAlarm"])


def test_a_handler_error_is_logged_as_the_python_runtime_logs_it(backend, prefix):
    names = ready_names(backend, prefix)
    # handler.py raising on line 55, as in the recording
    source = "\n" * 53 + 'def handler(event, context):\n    raise Exception("Test exception (this is intentional)")\n'
    deploy.deploy_function(backend, names, "raiser", {"handler.py": source}, handler="handler.handler")
    response = backend.client("lambda").invoke(FunctionName=names.function("raiser"), LogType="Tail", Payload=b"{}")
    lines = base64.b64decode(response["LogResult"]).decode().split("\n")
    start = lines.index(RECORDED_ERROR_LOG_LINES[0])
    assert lines[start : start + 4] == RECORDED_ERROR_LOG_LINES
    assert lines[start + 4].startswith("END RequestId:")

    # in CloudWatch Logs the error is one event, its lines joined by newlines
    event = wait_for(
        lambda: next((m for m in log_messages(backend, names.function("raiser")) if m.startswith("[ERROR]")), None),
        "the error's log event",
        timeout=10,
    )
    assert event.rstrip("\n").split("\n") == RECORDED_ERROR_LOG_LINES
    assert [line[:2] for line in RECORDED_ERROR_LOG_EVENT.split("\n")[2:]] == ["\u00a0\u00a0"] * 2
