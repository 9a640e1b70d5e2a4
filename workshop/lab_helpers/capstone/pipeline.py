"""The capstone: the whole pipeline, built from configuration, one entry per channel.

A new channel is not a copy of a Lambda with its resources renamed: it is a :class:`Channel`
entry, and :func:`deploy` builds, for every entry, the same chain from the same handler code
(``capstone_handlers/``)::

    cap-incoming/<channel>/ --S3--> intake --> cap-records (stream) --filter--> enqueuer
        --> <channel>-jobs.fifo --mapping--> worker --> cap-output/<channel>/<id>.json

with the idempotency table, the error bucket and an alarm for every rejected file, and a
CloudWatch alarm while rejections wait unread. Every call is a standard AWS API, idempotent, so
a cell that deploys can run again after a change, on the emulator or on a real account.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from workshop.account import environment
from workshop.lab_helpers import orders
from workshop.core.backend import Backend
from workshop.account.deploy import deploy_function
from workshop.core.errors import WorkshopError
from workshop.core.naming import Names
from workshop.core.waiting import wait_for

HANDLERS = Path(__file__).with_name("capstone_handlers")
INCOMING, ARCHIVE, ERROR, OUTPUT = "cap-incoming", "cap-archive", "cap-error", "cap-output"
DOCUMENTS, RECORDS = "cap-documents", "cap-records"
ALARM_TOPIC, ALARM_INBOX, REJECTIONS_ALARM = "cap-alarms", "cap-alarm-inbox", "cap-unread-rejections"
MAX_RECEIVE_COUNT = 3
WORKER_TIMEOUT = 10
_CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9]{1,11}$")


@dataclass(frozen=True)
class Channel:
    """One kind of file the pipeline takes in: files under ``<name>/`` in cap-incoming, CSV or
    JSON (``{"<name>": [...]}``), one record per row, each identified by ``id_field``; jobs of
    the same ``group_field`` value are done in order."""

    name: str
    id_field: str
    group_field: str
    required: tuple[str, ...]
    numeric: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _CHANNEL_NAME.match(self.name):
            raise WorkshopError(f"channel name {self.name!r}: 2-12 lowercase letters and digits, starting with a letter")
        for field in (self.id_field, self.group_field, *self.numeric):
            if field not in self.required:
                raise WorkshopError(f"channel {self.name}: {field!r} must be one of its required fields "
                                    f"{list(self.required)}")

    def purpose(self, part: str) -> str:
        return f"cap-{self.name}-{part}"


ORDERS = Channel("orders", id_field="order_id", group_field="customer", required=orders.CSV_FIELDS,
                 numeric=("quantity", "unit_price"))


def provision(aws: Backend, names: Names) -> None:
    """What every channel shares: buckets, the two tables, the alarm topic and its inbox, the alarm."""
    for bucket in (INCOMING, ARCHIVE, ERROR, OUTPUT):
        environment.ensure_bucket(aws, names, bucket)
    environment.ensure_table(aws, names.table(DOCUMENTS), [("ContentHash", "HASH")], names.tag_list)
    environment.ensure_table(aws, names.table(RECORDS), [("RecordKey", "HASH")], names.tag_list,
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic_arn = sns.create_topic(Name=names.topic(ALARM_TOPIC), Tags=names.tag_list)["TopicArn"]
    inbox_url = sqs.create_queue(QueueName=names.queue(ALARM_INBOX), tags=names.tag)["QueueUrl"]
    inbox_arn = _queue_arn(aws, inbox_url)
    sqs.set_queue_attributes(QueueUrl=inbox_url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": inbox_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]})})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
    # A rejection nobody has read yet is the alarm: it stays in ALARM until the inbox is emptied.
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName=names.alarm(REJECTIONS_ALARM), Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": names.queue(ALARM_INBOX)}], Statistic="Maximum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching", AlarmDescription="rejected files wait unread in the alarm inbox",
        Tags=names.tag_list)


def deploy(aws: Backend, names: Names, channels: list[Channel]) -> list[str]:
    """Build (or bring up to date) every channel's chain; the incoming bucket routes each
    channel's prefix to its intake. Returns the channels deployed."""
    if len({c.name for c in channels}) != len(channels):
        raise WorkshopError("two channels have the same name")
    routes = [_deploy_channel(aws, names, channel) for channel in channels]
    aws.client("s3").put_bucket_notification_configuration(
        Bucket=names.bucket(INCOMING), NotificationConfiguration={"LambdaFunctionConfigurations": routes})
    return [c.name for c in channels]


def _deploy_channel(aws: Backend, names: Names, channel: Channel) -> dict[str, Any]:
    sqs, lam = aws.client("sqs"), aws.client("lambda")
    dead_url = sqs.create_queue(QueueName=names.queue(channel.purpose("dead"), fifo=True), tags=names.tag,
                                Attributes={"FifoQueue": "true"})["QueueUrl"]
    jobs_url = sqs.create_queue(QueueName=names.queue(channel.purpose("jobs"), fifo=True), tags=names.tag,
                                Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=jobs_url, Attributes={
        "VisibilityTimeout": str(6 * WORKER_TIMEOUT),  # AWS's advice for a queue a function polls
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": _queue_arn(aws, dead_url),
                                     "maxReceiveCount": MAX_RECEIVE_COUNT})})
    deploy_function(aws, names, channel.purpose("worker"), _code("worker.py"), timeout=WORKER_TIMEOUT,
                    environment={"OUTPUT_BUCKET": names.bucket(OUTPUT), "DEAD_LETTER_URL": dead_url})
    _ensure_mapping(aws, names, channel.purpose("worker"), _queue_arn(aws, jobs_url), BatchSize=10,
                    FunctionResponseTypes=["ReportBatchItemFailures"])
    deploy_function(aws, names, channel.purpose("enqueuer"), _code("enqueuer.py"),
                    environment={"QUEUE_URL": jobs_url, "GROUP_FIELD": channel.group_field})
    only_mine = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"Channel": {"S": [channel.name]}}}}
    _ensure_mapping(aws, names, channel.purpose("enqueuer"), _stream_arn(aws, names), BatchSize=100,
                    StartingPosition="TRIM_HORIZON", FilterCriteria={"Filters": [{"Pattern": json.dumps(only_mine)}]})
    intake_arn = deploy_function(aws, names, channel.purpose("intake"), _code("intake.py"), environment={
        "CHANNEL": channel.name, "ID_FIELD": channel.id_field, "REQUIRED": ",".join(channel.required),
        "NUMERIC": ",".join(channel.numeric), "DOCUMENTS_TABLE": names.table(DOCUMENTS),
        "RECORDS_TABLE": names.table(RECORDS), "ARCHIVE_BUCKET": names.bucket(ARCHIVE),
        "ERROR_BUCKET": names.bucket(ERROR), "ALARM_TOPIC_ARN": _topic_arn(aws, names)})
    try:
        lam.add_permission(FunctionName=names.function(channel.purpose("intake")), StatementId="s3-incoming",
                           Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
                           SourceArn=f"arn:aws:s3:::{names.bucket(INCOMING)}", SourceAccount=aws.account_id())
    except lam.exceptions.ResourceConflictException:
        pass  # deployed before
    return {"Id": f"{channel.name}-intake", "LambdaFunctionArn": intake_arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": f"{channel.name}/"}]}}}


def _ensure_mapping(aws: Backend, names: Names, purpose: str, source_arn: str, **options: Any) -> str:
    lam = aws.client("lambda")
    function = names.function(purpose)
    found = lam.list_event_source_mappings(EventSourceArn=source_arn, FunctionName=function)["EventSourceMappings"]
    if found:
        uuid = found[0]["UUID"]
        changeable = {k: v for k, v in options.items() if k != "StartingPosition"}
        wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] in ("Enabled", "Disabled"), "the mapping",
                 timeout=300)
        lam.update_event_source_mapping(UUID=uuid, FunctionName=function, **changeable)
    else:
        uuid = lam.create_event_source_mapping(EventSourceArn=source_arn, FunctionName=function, **options)["UUID"]
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", f"the mapping of {function}",
             timeout=300)
    return uuid


def _code(handler_file: str) -> dict[str, str]:
    return {"app.py": (HANDLERS / handler_file).read_text(encoding="utf-8")}


def _queue_arn(aws: Backend, url: str) -> str:
    return aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _topic_arn(aws: Backend, names: Names) -> str:
    return f"arn:aws:sns:{aws.region}:{aws.account_id()}:{names.topic(ALARM_TOPIC)}"


def _stream_arn(aws: Backend, names: Names) -> str:
    return aws.client("dynamodb").describe_table(TableName=names.table(RECORDS))["Table"]["LatestStreamArn"]


# ---- data ---------------------------------------------------------------------------------

RETURN_REASONS = ("damaged", "wrong size", "changed my mind", "late")


def returns_files(count: int, *, seed: int = 5, run: str = "") -> list[orders.OrderFile]:
    """CSV files for a ``returns`` channel, all good: the second channel's traffic."""
    rng = random.Random(seed)
    files = []
    for number in range(1, count + 1):
        rows = [{"return_id": f"r{run}{number:03d}{n}", "order_id": str(rng.randint(1000, 9999)),
                 "customer": rng.choice(orders.CUSTOMERS), "reason": rng.choice(RETURN_REASONS)}
                for n in range(rng.randint(1, 3))]
        files.append(orders.OrderFile(f"returns/{run}batch-{number:03d}.csv", _csv(rows), "text/csv", orders.GOOD))
    return files


WAREHOUSES = ("north", "south", "east")


def stock_files(count: int, *, seed: int = 5, run: str = "") -> list[orders.OrderFile]:
    """CSV files for a ``stock`` channel (the walkthrough's second channel), all good: one stock
    count per row, ``count_id``, ``warehouse``, ``sku`` and ``counted`` (a number)."""
    rng = random.Random(seed)
    files = []
    for number in range(1, count + 1):
        rows = [{"count_id": f"s{run}{number:03d}{n}", "warehouse": rng.choice(WAREHOUSES),
                 "sku": rng.choice(sorted(orders.PRODUCTS)), "counted": str(rng.randint(0, 250))}
                for n in range(rng.randint(1, 3))]
        files.append(orders.OrderFile(f"stock/{run}batch-{number:03d}.csv", _csv(rows), "text/csv", orders.GOOD))
    return files


def with_property(files: list[orders.OrderFile], name: str, value: str) -> list[orders.OrderFile]:
    """The same good files with one more column (or JSON property) in every record."""
    changed = []
    for made in files:
        if made.expected != orders.GOOD:
            changed.append(made)
            continue
        if made.key.endswith(".json"):
            document = json.loads(made.body)
            for rows in document.values():
                for row in rows:
                    row[name] = value
            body = json.dumps(document, indent=1).encode()
        else:
            rows = [dict(row, **{name: value}) for row in csv.DictReader(io.StringIO(made.body.decode()))]
            body = _csv(rows)
        changed.append(orders.OrderFile(made.key, body, made.content_type, made.expected, made.reason))
    return changed


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


# ---- accounting ----------------------------------------------------------------------------

def ledger(aws: Backend, names: Names, keys: list[str]) -> list[dict[str, Any]]:
    """Where every uploaded file ended up, and what became of its records: one row per key.

    ``ended_in`` is archive (taken in), error (rejected, with its reason), incoming (not yet
    handled) or nowhere (lost); ``records`` are the records taken from it, ``delivered`` those
    with an output object, ``dead_lettered`` those not delivered that wait in their channel's
    dead-letter queue. (Delivery is at least once: a job done and also parked in the queue by
    a duplicate delivery counts as delivered.)
    """
    s3 = aws.client("s3")
    by_source: dict[str, list[str]] = {}
    for item in _scan(aws, names.table(RECORDS)):
        by_source.setdefault(item["SourceFile"]["S"], []).append(item["RecordKey"]["S"])
    outputs = _keys_in(s3, names.bucket(OUTPUT))
    found = {place: _keys_in(s3, names.bucket(purpose)) for place, purpose in PLACES}
    dead = _dead_lettered(aws, names, {key.split("/", 1)[0] for key in keys})
    rows = []
    for key in keys:
        place = next((place for place, _ in PLACES if key in found[place]), "nowhere")
        reason = _reason(s3, names, key) if place == "error" else ""
        records = by_source.get(key, []) if place == "archive" else []
        delivered = [r for r in records if "{}/{}.json".format(*r.split("#", 1)) in outputs]
        rows.append({"file": key, "channel": key.split("/", 1)[0], "ended_in": place, "reason": reason,
                     "records": len(records), "delivered": len(delivered),
                     "dead_lettered": sum(1 for r in records if r in dead and r not in delivered)})
    return rows


def unaccounted(rows: list[dict[str, Any]]) -> list[str]:
    """The kit's own conservation check over :func:`ledger` rows: every file archived or
    rejected, every record of an archived file delivered or dead-lettered. Empty when nothing
    was lost."""
    problems = []
    for row in rows:
        if row["ended_in"] not in ("archive", "error"):
            problems.append(f"{row['file']} is in {row['ended_in']}")
        elif row["ended_in"] == "archive" and (row["records"] == 0 or
                                               row["delivered"] + row["dead_lettered"] != row["records"]):
            problems.append(f"{row['file']}: {row['records']} records, {row['delivered']} delivered, "
                            f"{row['dead_lettered']} dead-lettered")
    return problems


def outputs_of(aws: Backend, names: Names, keys: list[str]) -> list[dict[str, Any]]:
    """The output documents the worker wrote for the records of these files."""
    s3, wanted = aws.client("s3"), set(keys)
    documents = []
    for item in _scan(aws, names.table(RECORDS)):
        if item["SourceFile"]["S"] in wanted:
            key = "{}/{}.json".format(*item["RecordKey"]["S"].split("#", 1))
            documents.append(json.loads(s3.get_object(Bucket=names.bucket(OUTPUT), Key=key)["Body"].read()))
    return documents


def settled(aws: Backend, names: Names, keys: list[str]) -> list[dict[str, Any]] | None:
    """The ledger once nothing is unaccounted for, else None: for wait_for."""
    rows = ledger(aws, names, keys)
    return None if unaccounted(rows) else rows


PLACES = (("archive", ARCHIVE), ("error", ERROR), ("incoming", INCOMING))  # where a file can be, in that order


def _keys_in(s3: Any, bucket: str) -> set[str]:
    """Every key in a bucket: one listing per thousand keys, not a request per file."""
    return {obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for obj in page.get("Contents", [])}


def _reason(s3: Any, names: Names, key: str) -> str:
    try:
        return s3.head_object(Bucket=names.bucket(ERROR), Key=key).get("Metadata", {}).get("reason", "")
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return ""  # moved on since the listing
        raise


def _scan(aws: Backend, table: str) -> list[dict[str, Any]]:
    paginator = aws.client("dynamodb").get_paginator("scan")
    return [item for page in paginator.paginate(TableName=table, ConsistentRead=True) for item in page["Items"]]


def _dead_lettered(aws: Backend, names: Names, channels: set[str]) -> set[str]:
    """The record keys waiting in the channels' dead-letter queues, read without consuming them
    (a zero visibility timeout leaves every message where it was)."""
    sqs, keys = aws.client("sqs"), set()
    for channel in channels:
        try:
            url = sqs.get_queue_url(QueueName=names.queue(f"cap-{channel}-dead", fifo=True))["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            continue
        for _ in range(10):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
            if not messages:
                break
            keys.update(json.loads(m["Body"]).get("RecordKey", "") for m in messages)
    return keys
