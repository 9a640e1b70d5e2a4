"""Every event the emulator delivers has the shape of AWS's documented sample, field for field.

Structure is compared recursively: the same keys at every level and the same value types,
except inside data maps (item images, message attributes, payloads) whose keys are the
user's own. Formats that code parses (timestamps, encoded keys) are checked exactly.
"""

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent, S3Event, SNSEvent, SQSEvent

from tests.emulator.test_event_delivery import RECORDER, notify_lambda, queue, wait_events
from tests.lambda_helpers import deploy_source, ready_names
from workshop.aws import events as aws_events

SAMPLES = Path(__file__).parents[1] / "fixtures" / "aws_samples"
DATA_MAPS = {
    "Keys",
    "NewImage",
    "OldImage",
    "MessageAttributes",
    "messageAttributes",
    "requestPayload",
    "responsePayload",
}
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def sample(name):
    return json.loads((SAMPLES / name).read_text())


def assert_same_shape(ours, theirs, path="event"):
    assert type(ours) is type(theirs), f"{path}: {type(ours).__name__} where AWS has {type(theirs).__name__}"
    if isinstance(theirs, dict):
        if path.rsplit(".", 1)[-1] in DATA_MAPS:
            for name in set(ours) & set(theirs):
                assert_same_shape(ours[name], theirs[name], f"{path}.{name}")
            return
        assert set(ours) == set(theirs), (
            f"{path}: missing {sorted(set(theirs) - set(ours))}, extra {sorted(set(ours) - set(theirs))}"
        )
        for name in theirs:
            assert_same_shape(ours[name], theirs[name], f"{path}.{name}")
    elif isinstance(theirs, list) and theirs and ours:
        assert_same_shape(ours[0], theirs[0], f"{path}[0]")


def s3_record(**overrides):
    values = dict(
        event_name="s3:ObjectCreated:Put",
        region="us-west-2",
        bucket="bucket",
        bucket_arn="arn:aws:s3:::bucket",
        key="HappyFace.jpg",
        size=1024,
        etag="d41d8cd98f00b204e9800998ecf8427e",
        version_id="3HL4kqtJlcpXroDTDmJ",
        configuration_id="testConfigRule",
        sequencer="0055AED6DCD90281E5",
    )
    values.update(overrides)
    return aws_events.s3_event_record(**values)


def sns_notification(subject="TestInvoke", attributes=None):
    return aws_events.sns_notification(
        message_id="95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        topic_arn="arn:aws:sns:us-east-1:123456789012:t",
        subject=subject,
        message="Hello from SNS!",
        message_attributes=attributes if attributes is not None else {"Test": {"Type": "String", "Value": "x"}},
        unsubscribe_url="http://127.0.0.1:4566/?Action=Unsubscribe",
        signing_cert_url="http://127.0.0.1:4566/c.pem",
    )


def received_message(fifo=False):
    """A message as boto3's receive_message returns it with all attributes."""
    attributes = {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": "1545082649183",
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": "1545082649185",
    }
    if fifo:
        attributes.update(SequenceNumber="18849496460467696128", MessageGroupId="1", MessageDeduplicationId="1")
    message = {
        "MessageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "ReceiptHandle": "AQEBwJnKyrHigUMZj6r",
        "MD5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "Body": "Test message.",
        "Attributes": attributes,
    }
    if not fifo:
        message["MessageAttributes"] = {"myAttribute": {"StringValue": "myValue", "DataType": "String"}}
        message["MD5OfMessageAttributes"] = "7b270e59b47ff90a553787216d55d91d"
    return message


STREAM_RECORD = {  # as boto3's dynamodbstreams get_records returns it
    "eventID": "c4ca4238a0b923820dcc509a6f75849b",
    "eventName": "INSERT",
    "eventVersion": "1.1",
    "eventSource": "aws:dynamodb",
    "awsRegion": "us-east-1",
    "dynamodb": {
        "ApproximateCreationDateTime": datetime(2015, 4, 9, tzinfo=UTC),
        "Keys": {"Id": {"N": "101"}},
        "NewImage": {"Message": {"S": "New item!"}, "Id": {"N": "101"}},
        "SequenceNumber": "4421584500000000017450439091",
        "SizeBytes": 26,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    },
}
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2015-06-27T00:48:05.899"


def test_s3_record_matches_the_sample():
    record = s3_record()
    assert_same_shape(aws_events.s3_event([record]), sample("s3_put.json"))
    assert record["eventName"] == "ObjectCreated:Put" and record["eventVersion"] == "2.1"
    assert ISO_MILLIS.match(record["eventTime"])
    assert re.fullmatch(r"[0-9A-F]{16}", record["responseElements"]["x-amz-request-id"])


def test_s3_removal_has_no_size_or_etag():
    record = s3_record(event_name="s3:ObjectRemoved:Delete", version_id=None)
    assert set(record["s3"]["object"]) == {"key", "sequencer"}


def test_s3_delete_marker_has_the_empty_etag_but_no_size():
    marker = s3_record(event_name="s3:ObjectRemoved:DeleteMarkerCreated", version_id="v2")["s3"]["object"]
    assert marker["eTag"] == "d41d8cd98f00b204e9800998ecf8427e" and "size" not in marker


@pytest.mark.parametrize(
    "key, encoded",
    [
        ("HappyFace.jpg", "HappyFace.jpg"),
        ("orders/2026 11/étude+1.csv", "orders/2026+11/%C3%A9tude%2B1.csv"),
        ("a/b/c/d/e/deep.json", "a/b/c/d/e/deep.json"),
        ("100% done.csv", "100%25+done.csv"),
        ("x=1&y=(2).csv", "x%3D1%26y%3D%282%29.csv"),
        ("a*b~c_d-e.f", "a*b%7Ec_d-e.f"),  # Java's URLEncoder: keeps *, escapes ~
    ],
)
def test_s3_keys_are_form_encoded(key, encoded):
    assert aws_events.s3_encode_key(key) == encoded
    assert unquote_plus(encoded) == key


def test_sns_lambda_record_matches_the_sample():
    notification = sns_notification(
        attributes={
            "Test": {"Type": "String", "Value": "TestString"},
            "TestBinary": {"Type": "Binary", "Value": "TestBinary"},
        }
    )
    event = {"Records": [aws_events.sns_lambda_record(notification, subscription_arn="arn:aws:sns:us-east-1:1:t:s")]}
    assert_same_shape(event, sample("sns_lambda.json"))
    sns = event["Records"][0]["Sns"]
    assert ISO_MILLIS.match(sns["Timestamp"])
    no_subject = aws_events.sns_lambda_record(sns_notification(subject=None, attributes={}), subscription_arn="s")
    assert no_subject["Sns"]["Subject"] is None and no_subject["Sns"]["MessageAttributes"] == {}


def test_sns_notification_for_sqs_and_http_matches_the_sample():
    assert_same_shape(sns_notification(subject="My First Message"), sample("sns_sqs_notification.json"))
    bare = sns_notification(subject=None, attributes={})
    assert "Subject" not in bare and "MessageAttributes" not in bare


@pytest.mark.parametrize("fifo, name", [(False, "sqs_lambda.json"), (True, "sqs_fifo_lambda.json")])
def test_sqs_record_matches_the_sample(fifo, name):
    record = aws_events.sqs_lambda_record(
        received_message(fifo), queue_arn="arn:aws:sqs:us-east-2:1:q", region="us-east-2"
    )
    assert_same_shape({"Records": [record]}, sample(name))
    assert record["md5OfMessageAttributes"] == (None if fifo else "7b270e59b47ff90a553787216d55d91d")
    if not fifo:
        assert record["messageAttributes"]["myAttribute"] == {
            "stringValue": "myValue",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }


def test_dynamodb_record_matches_the_sample():
    record = aws_events.dynamodb_lambda_record(STREAM_RECORD, stream_arn=STREAM_ARN)
    assert_same_shape({"Records": [record]}, sample("dynamodb_lambda.json"))
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1428537600.0
    raw = json.loads(
        json.dumps(
            {**STREAM_RECORD, "dynamodb": {**STREAM_RECORD["dynamodb"], "ApproximateCreationDateTime": 1428537600.0}}
        )
    )
    assert aws_events.dynamodb_lambda_record(raw, stream_arn=STREAM_ARN) == record, "raw JSON works too"


def test_dynamodb_binary_attributes_become_base64_text():
    change = {
        **STREAM_RECORD["dynamodb"],
        "NewImage": {
            "Id": {"N": "101"},
            "Blob": {"B": b"\x00\xff"},
            "Blobs": {"BS": [b"a"]},
            "Nested": {"M": {"Inner": {"L": [{"B": b"z"}]}}},
        },
    }
    record = aws_events.dynamodb_lambda_record({**STREAM_RECORD, "dynamodb": change}, stream_arn=STREAM_ARN)
    image = json.loads(json.dumps(record))["dynamodb"]["NewImage"]
    assert image["Blob"] == {"B": "AP8="} and image["Blobs"] == {"BS": ["YQ=="]}
    assert image["Nested"] == {"M": {"Inner": {"L": [{"B": "eg=="}]}}}


def test_destination_records_match_the_samples():
    failure = aws_events.stream_failure_record(
        condition="RetryAttemptsExhausted",
        function_arn="arn:aws:lambda:us-east-2:1:function:f",
        approximate_invoke_count=1,
        shard_id="shardId-1",
        stream_arn=STREAM_ARN,
        records=[STREAM_RECORD],
        function_error="Unhandled",
    )
    assert_same_shape(failure, sample("dynamodb_on_failure.json"))
    assert failure["DDBStreamBatchInfo"]["approximateArrivalOfFirstRecord"] == "2015-04-09T00:00:00Z"
    asynchronous = aws_events.async_destination_record(
        request_id="r",
        function_arn="arn:aws:lambda:us-east-2:1:function:f:$LATEST",
        condition="RetriesExhausted",
        approximate_invoke_count=3,
        request_payload={"ORDER_IDS": ["a"]},
        response_payload={"errorMessage": "x"},
        function_error="Unhandled",
    )
    assert_same_shape(asynchronous, sample("async_on_failure.json"))


def test_powertools_reads_our_events():
    s3 = S3Event(aws_events.s3_event([s3_record(key="orders/2026 11/étude+1.csv")]))
    assert s3.bucket_name == "bucket" and s3.object_key == "orders/2026 11/étude+1.csv", "powertools decodes it"
    sns = SNSEvent({"Records": [aws_events.sns_lambda_record(sns_notification(), subscription_arn="s")]})
    assert sns.sns_message == "Hello from SNS!"
    sqs = SQSEvent({"Records": [aws_events.sqs_lambda_record(received_message(), queue_arn="q", region="r")]})
    assert next(sqs.records).body == "Test message."
    stream = DynamoDBStreamEvent({"Records": [aws_events.dynamodb_lambda_record(STREAM_RECORD, stream_arn=STREAM_ARN)]})
    assert next(stream.records).dynamodb.new_image == {"Message": "New item!", "Id": 101}


# ---- the same comparison on events the running emulator actually delivered ---------------


@pytest.fixture
def names(backend, prefix):
    return ready_names(backend, prefix)


def test_delivered_s3_and_sns_events_match_the_samples(backend, names):
    deploy_source(backend, names, "recorder", RECORDER)
    function, bucket = names.function("recorder"), names.bucket("incoming")
    notify_lambda(backend, names, bucket, function)
    backend.client("s3").put_object(Bucket=bucket, Key="HappyFace.jpg", Body=b"x" * 1024)
    [s3_event] = wait_events(backend, function, 1)
    expected = sample("s3_put.json")
    del expected["Records"][0]["s3"]["object"]["versionId"]  # the bucket is not versioned
    assert_same_shape(s3_event, expected)

    sns = backend.client("sns")
    topic = sns.create_topic(Name=names.topic("samples"))["TopicArn"]
    arn = backend.client("lambda").get_function_configuration(FunctionName=function)["FunctionArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    sns.publish(
        TopicArn=topic,
        Message="Hello from SNS!",
        Subject="TestInvoke",
        MessageAttributes={
            "Test": {"DataType": "String", "StringValue": "TestString"},
            "TestBinary": {"DataType": "Binary", "BinaryValue": b"TestBinary"},
        },
    )
    sns_event = wait_events(backend, function, 2)[1]
    assert_same_shape(sns_event, sample("sns_lambda.json"))


def test_delivered_sqs_and_stream_records_match_the_samples(backend, names):
    deploy_source(backend, names, "recorder", RECORDER)
    function = names.function("recorder")
    url, arn = queue(backend, names, "samples")
    backend.client("sqs").send_message(
        QueueUrl=url,
        MessageBody="Test message.",
        MessageAttributes={"myAttribute": {"DataType": "String", "StringValue": "myValue"}},
    )
    lam = backend.client("lambda")
    lam.create_event_source_mapping(FunctionName=function, EventSourceArn=arn)
    [sqs_event] = wait_events(backend, function, 1)
    assert_same_shape(sqs_event, sample("sqs_lambda.json"))

    ddb = backend.client("dynamodb")
    table = names.table("samples")
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    ddb.put_item(TableName=table, Item={"Id": {"N": "101"}, "Message": {"S": "New item!"}})
    lam.create_event_source_mapping(FunctionName=function, EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON")
    stream_event = wait_events(backend, function, 2)[1]
    assert_same_shape(stream_event, sample("dynamodb_lambda.json"))
    assert stream_event["Records"][0]["awsRegion"] == "us-east-1"
