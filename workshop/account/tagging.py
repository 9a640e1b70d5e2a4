"""Read and add the ``workshop:env`` tag on every kind of resource the kit creates.

Each AWS service spells tagging differently; this module is the one place that knows
how, so provisioning (adding the tag) and teardown (trusting only the tag) agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from workshop.core.errors import error_code
from workshop.core.naming import TAG_KEY

ReadTags = Callable[[Any, str], dict[str, str]]
AddTag = Callable[[Any, str, str], None]


def _pairs(items: list[dict[str, str]], key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {item[key]: item[value] for item in items}


def _bucket_tags(s3: Any, bucket: str) -> dict[str, str]:
    try:
        return _pairs(s3.get_bucket_tagging(Bucket=bucket)["TagSet"])
    except ClientError as error:
        if error_code(error) in ("NoSuchTagSet", "NoSuchBucket"):
            return {}
        raise


def _add_bucket_tag(s3: Any, bucket: str, prefix: str) -> None:
    tags = {**_bucket_tags(s3, bucket), TAG_KEY: prefix}  # PutBucketTagging replaces the set
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})


# kind -> (boto3 service, read tags of an identifier, add the workshop tag to it)
TAGGERS: dict[str, tuple[str, ReadTags, AddTag]] = {
    "bucket": ("s3", _bucket_tags, _add_bucket_tag),
    "role": (
        "iam",
        lambda iam, name: _pairs(iam.list_role_tags(RoleName=name)["Tags"]),
        lambda iam, name, prefix: iam.tag_role(RoleName=name, Tags=[{"Key": TAG_KEY, "Value": prefix}]),
    ),
    "topic": (
        "sns",
        lambda sns, arn: _pairs(sns.list_tags_for_resource(ResourceArn=arn)["Tags"]),
        lambda sns, arn, prefix: sns.tag_resource(ResourceArn=arn, Tags=[{"Key": TAG_KEY, "Value": prefix}]),
    ),
    "queue": (
        "sqs",
        lambda sqs, url: sqs.list_queue_tags(QueueUrl=url).get("Tags", {}),
        lambda sqs, url, prefix: sqs.tag_queue(QueueUrl=url, Tags={TAG_KEY: prefix}),
    ),
    "table": (
        "dynamodb",
        lambda ddb, arn: _pairs(ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])),
        lambda ddb, arn, prefix: ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": TAG_KEY, "Value": prefix}]),
    ),
    "function": (
        "lambda",
        lambda lam, arn: lam.list_tags(Resource=arn).get("Tags", {}),
        lambda lam, arn, prefix: lam.tag_resource(Resource=arn, Tags={TAG_KEY: prefix}),
    ),
    "log_group": (
        "logs",
        lambda logs, name: logs.list_tags_log_group(logGroupName=name).get("tags", {}),
        lambda logs, name, prefix: logs.tag_log_group(logGroupName=name, tags={TAG_KEY: prefix}),
    ),
    "alarm": (
        "cloudwatch",
        lambda cw, arn: _pairs(cw.list_tags_for_resource(ResourceARN=arn).get("Tags", [])),
        lambda cw, arn, prefix: cw.tag_resource(ResourceARN=arn, Tags=[{"Key": TAG_KEY, "Value": prefix}]),
    ),
    "key": (
        "kms",
        lambda kms, key_id: _pairs(kms.list_resource_tags(KeyId=key_id).get("Tags", []), "TagKey", "TagValue"),
        lambda kms, key_id, prefix: kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": TAG_KEY, "TagValue": prefix}]),
    ),
}


def read_tags(backend: Any, kind: str, identifier: str) -> dict[str, str]:
    service, read, _ = TAGGERS[kind]
    return read(backend.client(service), identifier)


def carries_tag(backend: Any, kind: str, identifier: str, prefix: str) -> bool:
    """Whether the resource is tagged ``workshop:env=<prefix>`` (exactly this prefix)."""
    return read_tags(backend, kind, identifier).get(TAG_KEY) == prefix


def ensure_tag(backend: Any, kind: str, identifier: str, prefix: str) -> bool:
    """Add the workshop tag if it is missing; True if it had to be added."""
    if carries_tag(backend, kind, identifier, prefix):
        return False
    service, _, add = TAGGERS[kind]
    add(backend.client(service), identifier, prefix)
    return True
