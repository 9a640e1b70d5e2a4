"""The capstone's deployment: the whole pipeline, built from configuration, one entry per channel.

A new channel is not a copy of a Lambda with its resources renamed: it is a :class:`Channel`
entry, and :func:`deploy` builds, for every entry, the same chain from the same handler code
(``handlers/``, beside this module)::

    cap-incoming/<channel>/ --S3--> intake --> cap-records (stream) --filter--> enqueuer
        --> <channel>-jobs.fifo --mapping--> worker --> cap-output/<channel>/<id>.json

with the idempotency table, the error bucket and an alarm for every rejected file, and a
CloudWatch alarm while rejections wait unread. Every call is a standard AWS API, idempotent, so
a cell that deploys can run again after a change, on the emulator or on a real account.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workshop.account import environment
from workshop.account.deploy import deploy_function
from workshop.core.backend import Backend
from workshop.core.errors import WorkshopError
from workshop.core.naming import Names
from workshop.core.waiting import wait_for
from workshop.lab_helpers import orders

HANDLERS = Path(__file__).with_name("handlers")
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
            raise WorkshopError(
                f"channel name {self.name!r}: 2-12 lowercase letters and digits, starting with a letter"
            )
        for field in (self.id_field, self.group_field, *self.numeric):
            if field not in self.required:
                raise WorkshopError(
                    f"channel {self.name}: {field!r} must be one of its required fields {list(self.required)}"
                )

    def purpose(self, part: str) -> str:
        return Names.channel_purpose(self.name, part)


ORDERS = Channel(
    "orders",
    id_field="order_id",
    group_field="customer",
    required=orders.CSV_FIELDS,
    numeric=("quantity", "unit_price"),
)


def provision(aws: Backend, names: Names) -> None:
    """What every channel shares: buckets, the two tables, the alarm topic and its inbox, the alarm."""
    for bucket in (INCOMING, ARCHIVE, ERROR, OUTPUT):
        environment.ensure_bucket(aws, names, bucket)
    environment.ensure_table(aws, names.table(DOCUMENTS), [("ContentHash", "HASH")], names.tag_list)
    environment.ensure_table(
        aws,
        names.table(RECORDS),
        [("RecordKey", "HASH")],
        names.tag_list,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic_arn = sns.create_topic(Name=names.topic(ALARM_TOPIC), Tags=names.tag_list)["TopicArn"]
    inbox_url = sqs.create_queue(QueueName=names.queue(ALARM_INBOX), tags=names.tag)["QueueUrl"]
    inbox_arn = _queue_arn(aws, inbox_url)
    sqs.set_queue_attributes(
        QueueUrl=inbox_url,
        Attributes={
            "Policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": inbox_arn,
                            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                        }
                    ],
                }
            )
        },
    )
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
    # A rejection nobody has read yet is the alarm: it stays in ALARM until the inbox is emptied.
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName=names.alarm(REJECTIONS_ALARM),
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": names.queue(ALARM_INBOX)}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmDescription="rejected files wait unread in the alarm inbox",
        Tags=names.tag_list,
    )


def deploy(aws: Backend, names: Names, channels: list[Channel], tracing: bool = False) -> list[str]:
    """Build (or bring up to date) every channel's chain; the incoming bucket routes each
    channel's prefix to its intake. ``tracing``: the functions record their invocations in X-Ray
    (active tracing), for ``journey``; off, they pass a trace on and record nothing. Returns the
    channels deployed."""
    if len({c.name for c in channels}) != len(channels):
        raise WorkshopError("two channels have the same name")
    mode = {"TracingConfig": {"Mode": "Active" if tracing else "PassThrough"}}
    routes = [_deploy_channel(aws, names, channel, mode) for channel in channels]
    aws.client("s3").put_bucket_notification_configuration(
        Bucket=names.bucket(INCOMING), NotificationConfiguration={"LambdaFunctionConfigurations": routes}
    )
    return [c.name for c in channels]


def _deploy_channel(aws: Backend, names: Names, channel: Channel, tracing: dict[str, Any]) -> dict[str, Any]:
    sqs, lam = aws.client("sqs"), aws.client("lambda")
    dead_url = sqs.create_queue(
        QueueName=names.queue(channel.purpose("dead"), fifo=True), tags=names.tag, Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    jobs_url = sqs.create_queue(
        QueueName=names.queue(channel.purpose("jobs"), fifo=True), tags=names.tag, Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    sqs.set_queue_attributes(
        QueueUrl=jobs_url,
        Attributes={
            "VisibilityTimeout": str(6 * WORKER_TIMEOUT),  # AWS's advice for a queue a function polls
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": _queue_arn(aws, dead_url), "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
        },
    )
    deploy_function(
        aws,
        names,
        channel.purpose("worker"),
        _code("worker.py"),
        timeout=WORKER_TIMEOUT,
        environment={"OUTPUT_BUCKET": names.bucket(OUTPUT), "DEAD_LETTER_URL": dead_url},
        **tracing,
    )
    _ensure_mapping(
        aws,
        names,
        channel.purpose("worker"),
        _queue_arn(aws, jobs_url),
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    deploy_function(
        aws,
        names,
        channel.purpose("enqueuer"),
        _code("enqueuer.py"),
        environment={"QUEUE_URL": jobs_url, "GROUP_FIELD": channel.group_field},
        **tracing,
    )
    only_mine = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"Channel": {"S": [channel.name]}}}}
    _ensure_mapping(
        aws,
        names,
        channel.purpose("enqueuer"),
        _stream_arn(aws, names),
        BatchSize=100,
        StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": json.dumps(only_mine)}]},
    )
    intake_arn = deploy_function(
        aws,
        names,
        channel.purpose("intake"),
        _code("intake.py"),
        environment={
            "CHANNEL": channel.name,
            "ID_FIELD": channel.id_field,
            "REQUIRED": ",".join(channel.required),
            "NUMERIC": ",".join(channel.numeric),
            "DOCUMENTS_TABLE": names.table(DOCUMENTS),
            "RECORDS_TABLE": names.table(RECORDS),
            "ARCHIVE_BUCKET": names.bucket(ARCHIVE),
            "ERROR_BUCKET": names.bucket(ERROR),
            "ALARM_TOPIC_ARN": _topic_arn(aws, names),
        },
        **tracing,
    )
    try:
        lam.add_permission(
            FunctionName=names.function(channel.purpose("intake")),
            StatementId="s3-incoming",
            Action="lambda:InvokeFunction",
            Principal="s3.amazonaws.com",
            SourceArn=f"arn:aws:s3:::{names.bucket(INCOMING)}",
            SourceAccount=aws.account_id(),
        )
    except lam.exceptions.ResourceConflictException:
        pass  # deployed before
    return {
        "Id": f"{channel.name}-intake",
        "LambdaFunctionArn": intake_arn,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": f"{channel.name}/"}]}},
    }


def _ensure_mapping(aws: Backend, names: Names, purpose: str, source_arn: str, **options: Any) -> str:
    lam = aws.client("lambda")
    function = names.function(purpose)
    found = lam.list_event_source_mappings(EventSourceArn=source_arn, FunctionName=function)["EventSourceMappings"]
    if found:
        uuid = found[0]["UUID"]
        changeable = {k: v for k, v in options.items() if k != "StartingPosition"}
        wait_for(
            lambda: lam.get_event_source_mapping(UUID=uuid)["State"] in ("Enabled", "Disabled"),
            "the mapping",
            timeout=300,
        )
        lam.update_event_source_mapping(UUID=uuid, FunctionName=function, **changeable)
    else:
        uuid = lam.create_event_source_mapping(EventSourceArn=source_arn, FunctionName=function, **options)["UUID"]
    wait_for(
        lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", f"the mapping of {function}", timeout=300
    )
    return uuid


def _code(handler_file: str) -> dict[str, str]:
    return {"app.py": (HANDLERS / handler_file).read_text(encoding="utf-8")}


def _queue_arn(aws: Backend, url: str) -> str:
    return aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _topic_arn(aws: Backend, names: Names) -> str:
    return f"arn:aws:sns:{aws.region}:{aws.account_id()}:{names.topic(ALARM_TOPIC)}"


def _stream_arn(aws: Backend, names: Names) -> str:
    return aws.client("dynamodb").describe_table(TableName=names.table(RECORDS))["Table"]["LatestStreamArn"]
