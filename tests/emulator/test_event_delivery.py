"""S3 and SNS deliver events the way AWS does: to Lambda, SQS and HTTP, in AWS's shapes."""

import http.server
import json
import threading
import time
from urllib.parse import unquote_plus

import pytest

from tests.lambda_helpers import deploy_source, log_messages, ready_names
from workshop.core.waiting import wait_for

RECORDER = """
import json
def handler(event, context):
    print("EVENT " + json.dumps(event))
    return "ok"
"""


@pytest.fixture
def names(backend, prefix):
    return ready_names(backend, prefix)


def recorded_events(backend, function):
    return [json.loads(m[len("EVENT ") :]) for m in log_messages(backend, function) if m.startswith("EVENT ")]


def wait_events(backend, function, count, timeout=15):
    return wait_for(
        lambda: (events := recorded_events(backend, function)) and len(events) >= count and events,
        f"{count} events received by {function}",
        timeout=timeout,
    )


def queue(backend, names, purpose, **attributes):
    sqs = backend.client("sqs")
    url = sqs.create_queue(QueueName=names.queue(purpose), Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive_all(backend, url, count, timeout=15):
    sqs, seen = backend.client("sqs"), []

    def more():
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", []):
            seen.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(seen) >= count and seen

    return wait_for(more, f"{count} messages", timeout=timeout)


def notify_lambda(backend, names, bucket, function, **filters):
    lam = backend.client("lambda")
    arn = lam.get_function_configuration(FunctionName=function)["FunctionArn"]
    lam.add_permission(
        FunctionName=function,
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{bucket}",
    )
    rules = [{"Name": k, "Value": v} for k, v in filters.items()]
    config = {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
    if rules:
        config["Filter"] = {"Key": {"FilterRules": rules}}
    backend.client("s3").put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": [config]}
    )


def test_s3_upload_invokes_lambda_with_aws_record(backend, names):
    deploy_source(backend, names, "recorder", RECORDER)
    function, bucket = names.function("recorder"), names.bucket("incoming")
    notify_lambda(backend, names, bucket, function, prefix="orders/", suffix=".csv")
    s3 = backend.client("s3")
    key = "orders/2026 11/étude+1.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=b"id,amount\n1,2\n")
    s3.put_object(Bucket=bucket, Key="orders/readme.txt", Body=b"not csv")  # suffix filter
    s3.put_object(Bucket=bucket, Key="other/x.csv", Body=b"x")  # prefix filter
    [event] = wait_events(backend, function, 1)
    record = event["Records"][0]
    assert record["eventSource"] == "aws:s3" and record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"]["name"] == bucket
    assert unquote_plus(record["s3"]["object"]["key"]) == key
    assert record["s3"]["object"]["key"].startswith("orders/2026+11/"), "S3 encodes keys, spaces as +"
    assert record["s3"]["object"]["size"] == 14
    for field in ("userIdentity", "requestParameters", "responseElements"):
        assert field in record
    assert record["s3"]["object"]["sequencer"]
    backend.client("s3").copy_object(Bucket=bucket, Key="orders/copy.csv", CopySource={"Bucket": bucket, "Key": key})
    events = wait_events(backend, function, 2)
    assert events[1]["Records"][0]["eventName"] == "ObjectCreated:Copy"
    assert len(recorded_events(backend, function)) == 2


def test_s3_to_sqs_and_sns(backend, names):
    bucket = names.bucket("incoming")
    url, queue_arn = queue(backend, names, "uploads")
    audit_url, audit_arn = queue(backend, names, "audit")
    sns = backend.client("sns")
    topic = sns.create_topic(Name=names.topic("uploads"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=audit_arn)
    backend.client("s3").put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}],
            "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectRemoved:*"]}],
        },
    )
    s3 = backend.client("s3")
    s3.put_object(Bucket=bucket, Key="a.json", Body=b"{}")
    s3.delete_object(Bucket=bucket, Key="a.json")
    bodies = [json.loads(m["Body"]) for m in receive_all(backend, url, 2)]
    assert [b["Event"] for b in bodies if "Event" in b] == ["s3:TestEvent"], "S3 tests a new queue target"
    created = [b for b in bodies if "Records" in b]
    assert created[0]["Records"][0]["eventName"] == "ObjectCreated:Put"
    envelopes = [json.loads(m["Body"]) for m in receive_all(backend, audit_url, 2)]
    notification = next(e for e in envelopes if "Records" in json.loads(e["Message"]))
    assert notification["Type"] == "Notification" and notification["TopicArn"] == topic
    assert notification["Subject"] == "Amazon S3 Notification"
    removed = json.loads(notification["Message"])["Records"][0]
    assert removed["eventName"] == "ObjectRemoved:Delete"


def test_sns_to_lambda_with_real_envelope_and_filter_policy(backend, names):
    deploy_source(backend, names, "recorder", RECORDER)
    function = names.function("recorder")
    sns = backend.client("sns")
    topic = sns.create_topic(Name=names.topic("orders"))["TopicArn"]
    function_arn = backend.client("lambda").get_function_configuration(FunctionName=function)["FunctionArn"]
    subscription = sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=function_arn,
        Attributes={"FilterPolicy": json.dumps({"channel": ["web"]})},
    )["SubscriptionArn"]
    first = sns.publish(
        TopicArn=topic,
        Message="hello",
        Subject="greeting",
        MessageAttributes={"channel": {"DataType": "String", "StringValue": "web"}},
    )
    sns.publish(
        TopicArn=topic,
        Message="filtered out",
        MessageAttributes={"channel": {"DataType": "String", "StringValue": "phone"}},
    )
    second = sns.publish(
        TopicArn=topic, Message="again", MessageAttributes={"channel": {"DataType": "String", "StringValue": "web"}}
    )
    events = wait_events(backend, function, 2)
    records = [e["Records"][0] for e in events]
    assert {r["Sns"]["Message"] for r in records} == {"hello", "again"}
    assert {r["Sns"]["MessageId"] for r in records} == {first["MessageId"], second["MessageId"]}
    record = next(r for r in records if r["Sns"]["Message"] == "hello")
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"] == subscription
    assert record["Sns"]["TopicArn"] == topic and record["Sns"]["Subject"] == "greeting"
    assert record["Sns"]["MessageAttributes"]["channel"] == {"Type": "String", "Value": "web"}
    assert record["Sns"]["Timestamp"].endswith("Z") and not record["Sns"]["Timestamp"].startswith("1970")


def test_sns_to_sqs_raw_and_envelope(backend, names):
    sns = backend.client("sns")
    topic = sns.create_topic(Name=names.topic("fan"))["TopicArn"]
    raw_url, raw_arn = queue(backend, names, "raw")
    env_url, env_arn = queue(backend, names, "enveloped")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=env_arn)
    sns.publish(
        TopicArn=topic,
        Message='{"order": 1}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
    )
    [raw] = receive_all(backend, raw_url, 1)
    assert raw["Body"] == '{"order": 1}'
    assert raw["MessageAttributes"]["kind"]["StringValue"] == "order"
    [enveloped] = receive_all(backend, env_url, 1)
    body = json.loads(enveloped["Body"])
    assert body["Message"] == '{"order": 1}' and body["Type"] == "Notification"
    assert body["MessageAttributes"]["kind"] == {"Type": "String", "Value": "order"}


def test_sns_to_http_endpoint_on_loopback(backend, names):
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sns = backend.client("sns")
        topic = sns.create_topic(Name=names.topic("web"))["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=f"http://127.0.0.1:{server.server_address[1]}/hook")
        sns.publish(TopicArn=topic, Message="to the web")
        notifications = wait_for(
            lambda: [b for _, b in received if b.get("Type") == "Notification"], "an HTTP notification"
        )
        assert notifications[0]["Message"] == "to the web"
        headers = next(h for h, b in received if b.get("Type") == "Notification")
        assert headers["x-amz-sns-message-type"] == "Notification"
    finally:
        server.shutdown()


def test_an_http_endpoint_that_never_answers_holds_back_no_other_delivery(backend, names):
    """SNS's HTTP posts wait for their endpoint on threads of their own: ten notifications to an
    endpoint that hangs do not hold the delivery threads a whole class shares."""
    release = threading.Event()

    class Hanging(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            release.wait(20)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hanging)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sns = backend.client("sns")
        topic = sns.create_topic(Name=names.topic("hanging"))["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=f"http://127.0.0.1:{server.server_address[1]}/hook")
        for n in range(10):
            sns.publish(TopicArn=topic, Message=f"into the void {n}")
        deploy_source(backend, names, "recorder", RECORDER)
        notify_lambda(backend, names, names.bucket("incoming"), names.function("recorder"))
        started = time.monotonic()
        backend.client("s3").put_object(Bucket=names.bucket("incoming"), Key="day.csv", Body=b"a")
        wait_events(backend, names.function("recorder"), 1)
        assert time.monotonic() - started < 4, "the upload's event waited behind the hanging endpoint"
    finally:
        release.set()
        server.shutdown()


def test_duplicate_switch_delivers_the_same_event_twice(backend, names, in_process_backend):
    from workshop.lab_helpers import chaos

    deploy_source(backend, names, "recorder", RECORDER)
    function, bucket = names.function("recorder"), names.bucket("incoming")
    notify_lambda(backend, names, bucket, function)
    with chaos.switched(duplicate_rate=1.0):
        backend.client("s3").put_object(Bucket=bucket, Key="twice.csv", Body=b"a")
        first, second = wait_events(backend, function, 2)
    assert first == second, "a duplicate is the very same event, sequencer and request id included"
    assert chaos.current()["duplicate_rate"] == 0.0, "switched() turns the switch off again"


def test_versioned_multipart_and_removal_records(backend, names):
    deploy_source(backend, names, "recorder", RECORDER)
    function, bucket = names.function("recorder"), names.bucket("in-progress")
    lam = backend.client("lambda")
    arn = lam.get_function_configuration(FunctionName=function)["FunctionArn"]
    s3 = backend.client("s3")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": arn, "Id": "everything", "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}
            ]
        },
    )
    version = s3.put_object(Bucket=bucket, Key="v.csv", Body=b"one")["VersionId"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.csv")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="big.csv", UploadId=upload, PartNumber=1, Body=b"x" * 1024)
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="big.csv",
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    s3.delete_object(Bucket=bucket, Key="v.csv")
    events = wait_events(backend, function, 3)
    records = {r["eventName"]: r for e in events for r in e["Records"]}
    assert records["ObjectCreated:Put"]["s3"]["object"]["versionId"] == version
    assert records["ObjectCreated:Put"]["s3"]["configurationId"] == "everything"
    assert records["ObjectCreated:CompleteMultipartUpload"]["s3"]["object"]["size"] == 1024
    removed = records["ObjectRemoved:DeleteMarkerCreated"]["s3"]["object"]
    assert "size" not in removed and removed["eTag"] == "d41d8cd98f00b204e9800998ecf8427e" and removed["versionId"]
    sequencers = [r["s3"]["object"]["sequencer"] for r in records.values()]
    assert len(set(sequencers)) == 3
