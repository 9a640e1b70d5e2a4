"""The resources of one participant's environment, created idempotently.

Setup provisions only the scaffolding a learner is not asked to build: the Lambda
execution role, the buckets, the alarm topic and the queue that receives alarms.
Whatever a lab asks the learner to create is never in this list.
Teardown does not use this list: it finds resources by prefix and tag
(:mod:`workshop.account.inventory`), so it also removes what the learner built.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from botocore.exceptions import ClientError

from workshop.account import tagging
from workshop.account.policies import LAMBDA_TRUST_POLICY, lambda_execution_policy
from workshop.core.backend import Backend
from workshop.core.errors import WorkshopError, error_code
from workshop.core.naming import Names

CREATED, EXISTS, UPDATED = "created", "exists", "updated"

EXECUTION_ROLE = "lambda-exec"
EXECUTION_POLICY = "lambda-exec-scoped"
INCOMING_BUCKET = "incoming"
IN_PROGRESS_BUCKET = "in-progress"
ERROR_BUCKET = "error"
PROCESSED_BUCKET = "processed"
ALARM_TOPIC = "digester-alarm"
ALARM_INBOX_QUEUE = "alarm-inbox"


@dataclass(frozen=True)
class Resource:
    """One resource of the environment: its kind and its purpose (the name without prefix)."""

    kind: str
    purpose: str

    def name(self, names: Names) -> str:
        return getattr(names, self.kind)(self.purpose)


BASE_RESOURCES: tuple[Resource, ...] = (
    Resource("role", EXECUTION_ROLE),
    Resource("bucket", INCOMING_BUCKET),
    Resource("bucket", IN_PROGRESS_BUCKET),
    Resource("bucket", ERROR_BUCKET),
    Resource("bucket", PROCESSED_BUCKET),
    Resource("topic", ALARM_TOPIC),
    Resource("queue", ALARM_INBOX_QUEUE),
)


@dataclass(frozen=True)
class Outcome:
    kind: str
    name: str
    status: str


def provision(backend: Backend, names: Names) -> list[Outcome]:
    """Create whatever of the base environment is missing; report each resource's status."""
    outcomes = []
    for resource in BASE_RESOURCES:
        ensure = _ENSURERS[resource.kind]
        outcomes.append(Outcome(resource.kind, resource.name(names), ensure(backend, names, resource.purpose)))
    return outcomes


def _ensure_role(backend: Backend, names: Names, purpose: str) -> str:
    iam = backend.client("iam")
    role_name = names.role(purpose)
    status = EXISTS
    try:
        iam.get_role(RoleName=role_name)
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise
        iam.create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY,
            Description=f"Execution role of the workshop handlers of {names.prefix}",
            Tags=names.tag_list,
        )
        status = CREATED
    policy_name = names.role(EXECUTION_POLICY)
    wanted = json.loads(lambda_execution_policy(names))
    try:
        current = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
        if isinstance(current, str):  # some endpoints return it URL-encoded
            current = json.loads(unquote(current))
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise
        current = None
    if current != wanted:
        iam.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(wanted))
        status = UPDATED if status == EXISTS else status
    return _with_tag(status, backend, "role", role_name, names)


def _ensure_bucket(backend: Backend, names: Names, purpose: str) -> str:
    s3 = backend.client("s3")
    bucket = names.bucket(purpose)
    status = EXISTS
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error_code(error)
        if code in ("403", "AccessDenied"):
            raise WorkshopError(
                f"The bucket name {bucket} belongs to another account; choose another prefix."
            ) from None
        if code not in ("404", "NoSuchBucket"):
            raise
        options = {}
        if backend.region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": backend.region}
        s3.create_bucket(Bucket=bucket, **options)
        status = CREATED
    return _with_tag(status, backend, "bucket", bucket, names)


def _ensure_topic(backend: Backend, names: Names, purpose: str) -> str:
    sns = backend.client("sns")
    name = names.topic(purpose)
    arn = f"arn:aws:sns:{backend.region}:{backend.account_id()}:{name}"
    try:
        sns.get_topic_attributes(TopicArn=arn)
    except ClientError as error:
        if error_code(error) not in ("NotFound", "NotFoundException"):
            raise
        sns.create_topic(Name=name, Tags=names.tag_list)
        return CREATED
    return _with_tag(EXISTS, backend, "topic", arn, names)


def _ensure_queue(backend: Backend, names: Names, purpose: str) -> str:
    sqs = backend.client("sqs")
    name = names.queue(purpose)
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as error:
        if error_code(error) not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise
        sqs.create_queue(QueueName=name, tags=names.tag)
        return CREATED
    return _with_tag(EXISTS, backend, "queue", url, names)


def _with_tag(status: str, backend: Backend, kind: str, identifier: str, names: Names) -> str:
    """Tag a resource that lacks the workshop tag; an existing resource so adopted is 'updated'."""
    added = tagging.ensure_tag(backend, kind, identifier, names.prefix)
    return UPDATED if added and status == EXISTS else status


_ENSURERS: dict[str, Callable[[Backend, Names, str], str]] = {
    "role": _ensure_role,
    "bucket": _ensure_bucket,
    "topic": _ensure_topic,
    "queue": _ensure_queue,
}


def ensure_bucket(backend: Backend, names: Names, purpose: str) -> str:
    """A tagged bucket of the participant's, created when missing: for a notebook's own buckets
    (the walkthroughs' sandbox), so teardown finds them like the base ones."""
    _ensure_bucket(backend, names, purpose)
    return names.bucket(purpose)


def ensure_table(
    backend: Backend, name: str, keys: list[tuple[str, str]], tags: list[dict[str, str]], **options: object
) -> str:
    """An on-demand table of string keys (``[(attribute, "HASH"), (attribute, "RANGE")]``),
    created when missing ("created", else "exists"); returns once it is active. Looked up
    first, so an existing table needs no permission to create one."""
    dynamodb = backend.client("dynamodb")
    status = CREATED
    try:
        dynamodb.describe_table(TableName=name)
        return EXISTS
    except dynamodb.exceptions.ResourceNotFoundException:
        pass
    try:
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            Tags=tags,
            KeySchema=[{"AttributeName": a, "KeyType": kind} for a, kind in keys],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a, _ in keys],
            **options,
        )
    except dynamodb.exceptions.ResourceInUseException:
        status = EXISTS
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return status
