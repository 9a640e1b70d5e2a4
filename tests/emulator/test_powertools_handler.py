"""Handlers written with aws-lambda-powertools, a library this kit did not write, deployed unchanged.

Each handler in ``tests/powertools_handlers/`` is packaged with Powertools vendored into its zip
(``deploy_function(..., vendor=("aws-lambda-powertools",))``, as ``pip install -t`` would: Powertools
and typing_extensions travel in the zip, boto3 and jmespath come with the runtime) and reads the
emulator's events through Powertools' data classes. What the tests check is the behaviour Powertools
promises on AWS: Idempotency holds under duplicate deliveries, a partial batch response retries only
the poison message, and stream images come out as Python values.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.lambda_helpers import log_messages, ready_names
from workshop.account import deploy
from workshop.core.waiting import wait_for, wait_until_settled
from workshop.lab_helpers import chaos

HANDLERS = Path(__file__).parents[1] / "powertools_handlers"
POWERTOOLS = ("aws-lambda-powertools",)


@pytest.fixture
def names(backend, prefix):
    return ready_names(backend, prefix)


def deploy_handler(backend, names, purpose: str, file: str, **options: Any) -> str:
    return deploy.deploy_function(
        backend, names, purpose, {"app.py": (HANDLERS / file).read_text()}, vendor=POWERTOOLS, **options
    )


def create_table(backend, names, purpose: str, key: str, **options: Any) -> str:
    dynamodb = backend.client("dynamodb")
    dynamodb.create_table(
        TableName=names.table(purpose),
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        Tags=[{"Key": k, "Value": v} for k, v in names.tag.items()],
        **options,
    )
    dynamodb.get_waiter("table_exists").wait(TableName=names.table(purpose))
    return names.table(purpose)


def scan(backend, table: str) -> list[dict[str, Any]]:
    return backend.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]


def times_processed(backend, table: str) -> dict[str, int]:
    return {item["Key"]["S"]: int(item["Times"]["N"]) for item in scan(backend, table)}


def handler_json_lines(backend, function: str) -> list[dict[str, Any]]:
    lines = []
    for message in log_messages(backend, function):
        try:
            lines.append(json.loads(message))
        except ValueError:
            continue
    return lines


def starts(backend, function: str) -> int:
    return sum(m.startswith("START RequestId: ") for m in log_messages(backend, function))


def test_idempotency_processes_each_object_once_when_s3_delivers_every_event_twice(backend, names, in_process_backend):
    """S3Event + Idempotency (DynamoDBPersistenceLayer) + Logger, on an S3 trigger, every event twice."""
    idempotency = create_table(backend, names, "pt-idempotency", "id")
    processed = create_table(backend, names, "pt-processed", "Key")
    arn = deploy_handler(
        backend,
        names,
        "pt-digester",
        "s3_idempotent.py",
        timeout=10,
        environment={"IDEMPOTENCY_TABLE": idempotency, "PROCESSED_TABLE": processed},
    )
    function = names.function("pt-digester")
    bucket = names.bucket("incoming")
    backend.client("lambda").add_permission(
        FunctionName=function,
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{bucket}",
    )
    s3 = backend.client("s3")
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    keys = [f"orders/order {n}+x.csv" for n in range(4)]  # form-encoded in the event; Powertools decodes them

    with chaos.switched(duplicate_rate=1.0):
        for n, key in enumerate(keys):
            s3.put_object(Bucket=bucket, Key=key, Body=f"order_id\n{9000 + n}\n".encode())
        wait_for(lambda: starts(backend, function) >= 2 * len(keys), "every event delivered twice", timeout=120)
        counted = wait_until_settled(
            lambda: times_processed(backend, processed), "the handler to be done", quiet=2.0, timeout=120
        )

    assert counted == {key: 1 for key in keys}, "each object processed once despite two deliveries"
    records = scan(backend, idempotency)
    assert len(records) == len(keys), records
    assert {r["status"]["S"] for r in records} == {"COMPLETED"}
    saved = sorted(json.loads(r["data"]["S"])["processed"] for r in records)
    assert saved == sorted(keys), "the saved responses are the handler's, for the decoded keys"
    logged = [line for line in handler_json_lines(backend, function) if line.get("message") == "processed"]
    assert sorted(line["object_key"] for line in logged) == sorted(keys), "Logger: one line per object"
    assert all(
        line["service"] == "digester"
        and line["function_name"] == function
        and line["function_request_id"]
        and line["level"] == "INFO"
        for line in logged
    ), logged


def test_batch_processor_reports_only_the_poison_message_as_failed(backend, names):
    """BatchProcessor on an SQS mapping with ReportBatchItemFailures: the poison message is retried
    and dead-lettered, the other messages of its batch are done once and never redelivered."""
    processed = create_table(backend, names, "pt-jobs-done", "Key")
    sqs = backend.client("sqs")
    dead_url = sqs.create_queue(QueueName=names.queue("pt-jobs-dead"), tags=names.tag)["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=names.queue("pt-jobs"),
        tags=names.tag,
        Attributes={
            "VisibilityTimeout": "3",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 2}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    jobs = [{"id": f"job-{n}"} for n in range(6)]
    jobs.insert(3, {"id": "job-poison", "poison": True})
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": json.dumps(job)} for n, job in enumerate(jobs)]
    )
    deploy_handler(backend, names, "pt-worker", "sqs_batch.py", timeout=3, environment={"PROCESSED_TABLE": processed})
    function = names.function("pt-worker")
    # Created after the messages are queued, so the first batch holds all seven.
    backend.client("lambda").create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=function, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"]
    )

    def dead_lettered():
        messages = sqs.receive_message(QueueUrl=dead_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages")
        return messages

    dead = wait_for(dead_lettered, "the poison message in the dead-letter queue", timeout=120)
    time.sleep(4)  # longer than the visibility timeout: a wrongly retried message would have come back by now
    assert [json.loads(m["Body"]) for m in dead] == [{"id": "job-poison", "poison": True}]
    assert times_processed(backend, processed) == {job["id"]: 1 for job in jobs if not job.get("poison")}
    lines = handler_json_lines(backend, function)
    batches = [line["batch"] for line in lines if "batch" in line]
    responses = [line["response"] for line in lines if "response" in line]
    assert sorted(batches[0]) == sorted(job["id"] for job in jobs), "the first batch held every message"
    assert batches[1:] == [["job-poison"]], "only the poison message came back, once (maxReceiveCount 2)"
    poison_id = dead[0]["MessageId"]
    assert responses == [{"batchItemFailures": [{"itemIdentifier": poison_id}]}], log_messages(backend, function)
    # A batch whose every record failed is an error for Powertools, which Lambda retries like a failure.
    assert any(
        m.startswith("[ERROR] BatchProcessingError: All records failed processing")
        for m in log_messages(backend, function)
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_dynamodb_stream_event_reads_the_emulators_stream_records(backend, names):
    """DynamoDBStreamEvent in a deployed handler: INSERT, MODIFY and REMOVE in order, with keys and
    both images as Python values."""
    table = create_table(
        backend,
        names,
        "pt-players",
        "Player",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    stream_arn = backend.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    deploy_handler(backend, names, "pt-stream-reader", "stream_reader.py")
    function = names.function("pt-stream-reader")
    lam = backend.client("lambda")
    uuid = lam.create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=function, BatchSize=10, StartingPosition="TRIM_HORIZON"
    )["UUID"]
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", "the mapping", timeout=60)
    dynamodb = backend.client("dynamodb")
    dynamodb.put_item(
        TableName=table,
        Item={"Player": {"S": "ana"}, "Score": {"N": "12"}, "Badges": {"SS": ["first"]}, "Active": {"BOOL": True}},
    )
    dynamodb.update_item(
        TableName=table,
        Key={"Player": {"S": "ana"}},
        UpdateExpression="SET Score = :s",
        ExpressionAttributeValues={":s": {"N": "30.5"}},
    )
    dynamodb.delete_item(TableName=table, Key={"Player": {"S": "ana"}})

    def changes():
        found = [line for line in handler_json_lines(backend, function) if "change" in line]
        return found if len(found) >= 3 else None

    found = wait_for(changes, "three stream records read by the handler", timeout=120)
    assert [c["change"] for c in found] == ["INSERT", "MODIFY", "REMOVE"], log_messages(backend, function)
    assert all(c["keys"] == {"Player": "ana"} and c["view"] == "NEW_AND_OLD_IMAGES" for c in found), found
    assert all(c["source_arn"] == stream_arn for c in found), found
    # Decimal values (json default=str) and a string set, as boto3's TypeDeserializer gives them.
    assert found[0]["old"] == {} and found[0]["new"] == {
        "Player": "ana",
        "Score": "12",
        "Badges": "{'first'}",
        "Active": True,
    }
    assert found[1]["old"]["Score"] == "12" and found[1]["new"]["Score"] == "30.5"
    assert found[2]["old"]["Score"] == "30.5" and found[2]["new"] == {}
