"""What S3 refuses: bucket policies, notification configurations, default encryption."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from workshop.aws.refusals.common import Refusal, as_list, json_object, strings

__all__ = [
    "s3_bucket_policy",
    "s3_notification_filters",
    "s3_notification_overlaps",
    "s3_notification_destinations",
    "s3_bucket_encryption",
    "S3_NOTIFICATION_KINDS",
    "S3_SSE_ALGORITHMS",
]


def s3_bucket_policy(policy: str, bucket: str) -> Refusal | None:
    """S3 stores only a policy it can read, whose statements all concern this bucket.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html (error MalformedPolicy)"""

    def malformed(message: str) -> Refusal:
        return Refusal("MalformedPolicy", message)

    document = json_object(policy)
    if document is None:
        return malformed("Policies must be valid JSON and the first byte must be '{'")
    statements = document.get("Statement")
    if not statements:
        return malformed("Missing required field Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict):
            return malformed("Policies must be valid JSON and the first byte must be '{'")
        if statement.get("Effect") not in ("Allow", "Deny"):
            return malformed(f"Invalid effect: {statement.get('Effect')}")
        if "Principal" not in statement and "NotPrincipal" not in statement:
            return malformed("Missing required field Principal")
        actions = strings(statement.get("Action", statement.get("NotAction")))
        if not actions or not all(a == "*" or a.lower().startswith("s3:") for a in actions):
            return malformed("Policy has invalid action")
        resources = strings(statement.get("Resource", statement.get("NotResource")))
        if not resources or not all(_bucket_resource(r, bucket) for r in resources):
            return malformed("Policy has invalid resource")
    return None


def _bucket_resource(resource: str, bucket: str) -> bool:
    """A bucket policy's resources are the bucket and its objects (wildcards allowed)."""
    if resource == "*":
        return True
    name = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
    return (
        resource.startswith("arn:aws:s3:::")
        and re.fullmatch(re.escape(name).replace(r"\*", ".*").replace(r"\?", "."), bucket) is not None
    )


S3_NOTIFICATION_KINDS: Final = {"Queue": "sqs", "Topic": "sns", "CloudFunction": "lambda"}


def s3_notification_filters(configuration: Mapping[str, Any]) -> Refusal | None:
    """Filter rules of a notification configuration as S3 parses it (moto's XML-derived form).
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html"""
    for _, target in _notification_targets(configuration):
        rules = _filter_rules(target)
        names = [str(rule.get("Name", "")).lower() for rule in rules]
        for name in names:
            if name not in ("prefix", "suffix"):
                return Refusal("InvalidArgument", "filter rule name must be either prefix or suffix")
        for name in ("prefix", "suffix"):
            if names.count(name) > 1:
                return Refusal("InvalidArgument", f"Cannot specify more than one {name} rule in a filter.")
    return None


def s3_notification_overlaps(configuration: Mapping[str, Any]) -> Refusal | None:
    """Two configurations that could both match one event are ambiguous: S3 refuses them
    (the reason fan-out goes through SNS). Same page: "Examples of valid and invalid
    notification configurations"."""
    targets = [(set(as_list(t.get("Event"))), _affixes(t)) for _, t in _notification_targets(configuration)]
    for i, (events, (prefix, suffix)) in enumerate(targets):
        for other_events, (other_prefix, other_suffix) in targets[i + 1 :]:
            if (
                _events_overlap(events, other_events)
                and _affixes_overlap(prefix, other_prefix, str.startswith)
                and _affixes_overlap(suffix, other_suffix, str.endswith)
            ):
                return Refusal(
                    "InvalidArgument",
                    "Configuration is ambiguously defined. Cannot have overlapping "
                    "suffixes in two rules if the prefixes are overlapping for the "
                    "same event type.",
                )
    return None


def s3_notification_destinations(
    configuration: Mapping[str, Any], destination_exists: Callable[[str, str], bool]
) -> Refusal | None:
    """S3 validates every destination before it stores the configuration and refuses all of it
    when one fails. https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html
    ``destination_exists(kind, arn)`` with kind sqs, sns or lambda."""
    for kind, target in _notification_targets(configuration):
        if not destination_exists(S3_NOTIFICATION_KINDS[kind], str(target.get(kind, ""))):
            return Refusal("InvalidArgument", "Unable to validate the following destination configurations")
    return None


def _notification_targets(configuration: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [
        (kind, target)
        for kind in S3_NOTIFICATION_KINDS
        for target in as_list(configuration.get(f"{kind}Configuration"))
        if isinstance(target, Mapping)
    ]


def _filter_rules(target: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    key = ((target.get("Filter") or {}).get("S3Key") or {}) if isinstance(target.get("Filter"), Mapping) else {}
    return [r for r in as_list(key.get("FilterRule") if isinstance(key, Mapping) else None) if isinstance(r, Mapping)]


def _affixes(target: Mapping[str, Any]) -> tuple[str, str]:
    rules = {str(r.get("Name", "")).lower(): str(r.get("Value") or "") for r in _filter_rules(target)}
    return rules.get("prefix", ""), rules.get("suffix", "")


def _events_overlap(first: set[str], second: set[str]) -> bool:
    def families(events: set[str]) -> set[str]:
        return {e.rsplit(":", 1)[0] for e in events if e.endswith(":*")}

    return (
        bool(first & second)
        or any(e.rsplit(":", 1)[0] in families(second) for e in first)
        or any(e.rsplit(":", 1)[0] in families(first) for e in second)
    )


def _affixes_overlap(first: str, second: str, extends: Callable[[str, str], bool]) -> bool:
    return extends(first, second) or extends(second, first)


S3_SSE_ALGORITHMS: Final = ("AES256", "aws:kms", "aws:kms:dsse")


def s3_bucket_encryption(configuration: Mapping[str, Any]) -> Refusal | None:
    """Default encryption rules S3 refuses. The key itself is not looked up: S3 accepts any key
    id here and refuses the uploads that cannot use it (KMS.NotFoundException, see s3_guard).
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_ServerSideEncryptionByDefault.html"""
    for rule in as_list(configuration.get("Rule")):
        default = (rule or {}).get("ApplyServerSideEncryptionByDefault") or {}
        algorithm, key = default.get("SSEAlgorithm"), default.get("KMSMasterKeyID")
        if algorithm not in S3_SSE_ALGORITHMS:
            return Refusal(
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema",
            )
        if key is not None and algorithm == "AES256":
            return Refusal(
                "InvalidArgument",
                "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
            )
        if "KMSMasterKeyID" in default and not str(key or "").strip():  # an empty element parses as None
            return Refusal(
                "InvalidArgument",
                "if the default sse algorithm is aws:kms and a KMSMasterKeyID is specified, it must be non-empty",
            )
    return None
