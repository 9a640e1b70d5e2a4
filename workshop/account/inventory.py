"""Find and delete a participant's resources: exactly those with the prefix AND the tag.

Teardown trusts nothing else. A resource named like the participant's but without the
tag, or tagged for another participant, is never touched: in a shared account those
belong to somebody else. Discovery lists the live account rather than replaying what
setup created, so it also removes what the learner built and tolerates a partial
environment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from workshop.account import tagging
from workshop.core.backend import Backend
from workshop.core.errors import error_code
from workshop.core.naming import Names

# Dependents first: mappings and functions before the tables and queues they read,
# topics' subscriptions before topics, roles last since everything above uses them.
TEARDOWN_ORDER = (
    "mapping",
    "function",
    "api",
    "alarm",
    "topic",
    "queue",
    "table",
    "bucket",
    "log_group",
    "key",
    "role",
)

_GONE = {
    "NoSuchBucket",
    "NoSuchEntity",
    "ResourceNotFoundException",
    "NotFound",
    "NotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "ResourceNotFound",
}


@dataclass(frozen=True)
class Found:
    """A resource that belongs to the participant: kind, readable name, API identifier."""

    kind: str
    name: str
    identifier: str


def find(backend: Backend, names: Names) -> list[Found]:
    """Every resource carrying the participant's prefix and tag, in teardown order; and the log
    group of each such function, which Lambda creates untagged at its first invocation."""
    found: list[Found] = []
    for kind in TEARDOWN_ORDER:
        if kind == "log_group":
            functions = {resource.name for resource in found if resource.kind == "function"}
            found.extend(_find_log_groups(backend, names, functions))
        else:
            found.extend(_FINDERS[kind](backend, names))
    return found


def delete(backend: Backend, resource: Found) -> None:
    """Delete one found resource; one already gone counts as deleted."""
    try:
        _DELETERS[resource.kind](backend, resource)
    except ClientError as error:
        if error_code(error) not in _GONE:
            raise


def _tagged(backend: Backend, kind: str, identifier: str, names: Names) -> bool:
    try:
        return tagging.carries_tag(backend, kind, identifier, names.prefix)
    except ClientError as error:
        if error_code(error) in _GONE:
            return False
        raise


def _paginate(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


# ---- finders -------------------------------------------------------------------------


def _find_functions(backend: Backend, names: Names) -> Iterator[Found]:
    for function in _paginate(backend.client("lambda"), "list_functions", "Functions"):
        name, arn = function["FunctionName"], function["FunctionArn"]
        if names.owns(name) and _tagged(backend, "function", arn, names):
            yield Found("function", name, arn)


def _find_mappings(backend: Backend, names: Names) -> Iterator[Found]:
    """Mappings are untaggable here; they belong to the participant through their function."""
    lam = backend.client("lambda")
    for function in _find_functions(backend, names):
        for mapping in _paginate(lam, "list_event_source_mappings", "EventSourceMappings", FunctionName=function.name):
            yield Found("mapping", f"{function.name} <- {mapping.get('EventSourceArn', '?')}", mapping["UUID"])


def _find_apis(backend: Backend, names: Names) -> Iterator[Found]:
    for api in _paginate(backend.client("apigateway"), "get_rest_apis", "items"):
        if names.owns(api["name"]) and api.get("tags", {}).get(tagging.TAG_KEY) == names.prefix:
            yield Found("api", api["name"], api["id"])


def _find_alarms(backend: Backend, names: Names) -> Iterator[Found]:
    pages = (
        backend.client("cloudwatch")
        .get_paginator("describe_alarms")
        .paginate(AlarmNamePrefix=f"{names.prefix}-", AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    )
    for page in pages:
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            if names.owns(alarm["AlarmName"]) and _tagged(backend, "alarm", alarm["AlarmArn"], names):
                yield Found("alarm", alarm["AlarmName"], alarm["AlarmArn"])


def _find_topics(backend: Backend, names: Names) -> Iterator[Found]:
    for topic in _paginate(backend.client("sns"), "list_topics", "Topics"):
        arn = topic["TopicArn"]
        name = arn.rsplit(":", 1)[-1]
        if names.owns(name) and _tagged(backend, "topic", arn, names):
            yield Found("topic", name, arn)


def _find_queues(backend: Backend, names: Names) -> Iterator[Found]:
    response = backend.client("sqs").list_queues(QueueNamePrefix=f"{names.prefix}-", MaxResults=1000)
    for url in response.get("QueueUrls", []):
        name = url.rsplit("/", 1)[-1]
        if names.owns(name) and _tagged(backend, "queue", url, names):
            yield Found("queue", name, url)


def _find_tables(backend: Backend, names: Names) -> Iterator[Found]:
    for name in _paginate(backend.client("dynamodb"), "list_tables", "TableNames"):
        arn = f"arn:aws:dynamodb:{backend.region}:{backend.account_id()}:table/{name}"
        if names.owns(name) and _tagged(backend, "table", arn, names):
            yield Found("table", name, name)


def _find_buckets(backend: Backend, names: Names) -> Iterator[Found]:
    for bucket in backend.client("s3").list_buckets().get("Buckets", []):
        name = bucket["Name"]
        if names.owns(name) and _tagged(backend, "bucket", name, names):
            yield Found("bucket", name, name)


def _find_log_groups(backend: Backend, names: Names, functions: set[str]) -> Iterator[Found]:
    """Tagged groups, and ``/aws/lambda/<function>`` of the participant's tagged functions."""
    prefix = f"/aws/lambda/{names.prefix}-"
    for group in _paginate(backend.client("logs"), "describe_log_groups", "logGroups", logGroupNamePrefix=prefix):
        name = group["logGroupName"]
        if name.removeprefix("/aws/lambda/") in functions or _tagged(backend, "log_group", name, names):
            yield Found("log_group", name, name)


def _find_keys(backend: Backend, names: Names) -> Iterator[Found]:
    kms = backend.client("kms")
    for alias in _paginate(kms, "list_aliases", "Aliases"):
        key_id = alias.get("TargetKeyId")
        if not key_id or not names.owns(alias["AliasName"].removeprefix("alias/")):
            continue
        if kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion":
            continue
        if _tagged(backend, "key", key_id, names):
            yield Found("key", alias["AliasName"], key_id)


def _find_roles(backend: Backend, names: Names) -> Iterator[Found]:
    for role in _paginate(backend.client("iam"), "list_roles", "Roles"):
        name = role["RoleName"]
        if names.owns(name) and _tagged(backend, "role", name, names):
            yield Found("role", name, name)


_FINDERS: dict[str, Callable[[Backend, Names], Iterator[Found]]] = {
    "mapping": _find_mappings,
    "function": _find_functions,
    "api": _find_apis,
    "alarm": _find_alarms,
    "topic": _find_topics,
    "queue": _find_queues,
    "table": _find_tables,
    "bucket": _find_buckets,
    "key": _find_keys,
    "role": _find_roles,
}


# ---- deleters ------------------------------------------------------------------------


def _delete_topic(backend: Backend, topic: Found) -> None:
    sns = backend.client("sns")
    for subscription in _paginate(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic.identifier):
        if subscription["SubscriptionArn"].startswith("arn:"):  # not "PendingConfirmation"
            sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
    sns.delete_topic(TopicArn=topic.identifier)


def _delete_bucket(backend: Backend, bucket: Found) -> None:
    """Empty every version, delete marker and unfinished upload, then the bucket."""
    s3 = backend.client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket.identifier):
        objects = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if objects:  # a page holds at most 1,000 entries, DeleteObjects' own limit
            s3.delete_objects(Bucket=bucket.identifier, Delete={"Objects": objects, "Quiet": True})
    for upload in _paginate(s3, "list_multipart_uploads", "Uploads", Bucket=bucket.identifier):
        s3.abort_multipart_upload(Bucket=bucket.identifier, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=bucket.identifier)


def _delete_key(backend: Backend, key: Found) -> None:
    kms = backend.client("kms")
    kms.delete_alias(AliasName=key.name)
    kms.schedule_key_deletion(KeyId=key.identifier, PendingWindowInDays=7)


def _delete_role(backend: Backend, role: Found) -> None:
    iam = backend.client("iam")
    for policy in _paginate(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=role.identifier):
        iam.detach_role_policy(RoleName=role.identifier, PolicyArn=policy["PolicyArn"])
    for policy_name in _paginate(iam, "list_role_policies", "PolicyNames", RoleName=role.identifier):
        iam.delete_role_policy(RoleName=role.identifier, PolicyName=policy_name)
    for profile in _paginate(iam, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=role.identifier):
        iam.remove_role_from_instance_profile(
            InstanceProfileName=profile["InstanceProfileName"], RoleName=role.identifier
        )
    iam.delete_role(RoleName=role.identifier)


_DELETERS: dict[str, Callable[[Backend, Found], None]] = {
    "mapping": lambda b, r: b.client("lambda").delete_event_source_mapping(UUID=r.identifier),
    "function": lambda b, r: b.client("lambda").delete_function(FunctionName=r.identifier),
    "api": lambda b, r: b.client("apigateway").delete_rest_api(restApiId=r.identifier),
    "alarm": lambda b, r: b.client("cloudwatch").delete_alarms(AlarmNames=[r.name]),
    "topic": _delete_topic,
    "queue": lambda b, r: b.client("sqs").delete_queue(QueueUrl=r.identifier),
    "table": lambda b, r: b.client("dynamodb").delete_table(TableName=r.identifier),
    "bucket": _delete_bucket,
    "log_group": lambda b, r: b.client("logs").delete_log_group(logGroupName=r.identifier),
    "key": _delete_key,
    "role": _delete_role,
}
