"""S3: bucket policies evaluated in the request's context, the KMS keys of buckets and objects,
notifications handed to the emulator, and bucket settings judged before moto stores them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from moto.awslambda import models as lambda_models
from moto.s3 import models as s3_models
from moto.s3 import notifications as s3_notifications
from moto.sns import models as sns_models

from workshop.aws import refusals
from workshop.emulator.moto_adapters.atomic import raise_refusal
from workshop.emulator.moto_adapters.server import ACCOUNT_ID, request_trace_header

_s3_request = threading.local()


def set_s3_request_context(context: dict[str, str] | None) -> None:
    """The condition keys of the S3 request this thread is about to hand to moto."""
    _s3_request.context = context


def _evaluate_bucket_policies_in_context() -> None:
    """moto evaluates bucket policies with no request context: every Condition denies."""
    from workshop.aws import bucket_policies

    def get_permission(self: Any, action: str, resource: str) -> Any:
        from moto.iam.access_control import PermissionResult

        if self.policy is None:
            return PermissionResult.NEUTRAL
        context = getattr(_s3_request, "context", None) or {}
        verdict = bucket_policies.evaluate(self.policy, action, resource, context)
        return {"DENIED": PermissionResult.DENIED, "PERMITTED": PermissionResult.PERMITTED}.get(
            verdict, PermissionResult.NEUTRAL
        )

    s3_models.FakeBucket.get_permission = get_permission


def bucket_default_kms_key(bucket_name: str) -> str | None:
    """The KMSMasterKeyID of a bucket's default SSE-KMS encryption, if it has one."""
    bucket = _bucket(bucket_name)
    rules = (getattr(bucket, "encryption", None) or {}).get("Rule") if bucket is not None else None
    rules = rules if isinstance(rules, list) else [rules] if rules else []
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse") and default.get("KMSMasterKeyID"):
            return default["KMSMasterKeyID"]
    return None


def object_kms_key(bucket_name: str, key_name: str) -> str | None:
    bucket = _bucket(bucket_name)
    key = bucket.keys.get(key_name) if bucket is not None else None
    if key is None or getattr(key, "encryption", None) not in ("aws:kms", "aws:kms:dsse"):
        return None
    return getattr(key, "kms_key_id", None)


def _bucket(bucket_name: str) -> Any:
    from moto.s3.models import s3_backends

    for backend in s3_backends[ACCOUNT_ID].values():
        if bucket_name in backend.buckets:
            return backend.buckets[bucket_name]
    return None


@dataclass(frozen=True)
class S3Change:
    """One object change and the notification targets it matched, in plain values."""

    event_name: str  # e.g. "s3:ObjectCreated:Put"
    region: str
    bucket: str
    bucket_arn: str
    key: str
    size: int
    etag: str
    version_id: str | None
    targets: tuple[tuple[str, str, str], ...]  # (lambda|sqs|sns, target ARN, configuration id)
    # the trace header of the request that made the change: S3 passes it on to the notification
    # (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-s3.html)
    trace: str | None = None


_completing_upload = threading.local()


def _hook_s3_notifications(deliver: Callable[[S3Change], None]) -> None:
    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        configuration = bucket.notification_configuration
        if configuration is None:
            return
        name = event_name.value if hasattr(event_name, "value") else str(event_name)
        if getattr(_completing_upload, "active", False) and name != "s3:ObjectCreated:CompleteMultipartUpload":
            return  # moto's internal PutObject and tagging inside CompleteMultipartUpload: AWS sends one event
        targets = []
        for kind, notifications in (
            ("lambda", configuration.cloud_function),
            ("sqs", configuration.queue),
            ("sns", configuration.topic),
        ):
            targets += [(kind, n.arn, n.id) for n in notifications if n.matches(name, key.name)]
        if not targets:
            return
        versioned = getattr(bucket, "is_versioned", False)
        deliver(
            S3Change(
                event_name=name,
                region=bucket.region_name,
                bucket=bucket.name,
                bucket_arn=bucket.arn,
                key=key.name,
                size=int(getattr(key, "size", 0) or 0),
                etag=str(getattr(key, "etag", "")).strip('"'),
                version_id=str(key.version_id) if versioned and getattr(key, "version_id", None) else None,
                targets=tuple(targets),
                trace=request_trace_header(),
            )
        )

    s3_notifications.send_event = send_event

    original_complete = s3_models.S3Backend.complete_multipart_upload

    def complete_multipart_upload(self: Any, *args: Any, **kwargs: Any) -> Any:
        _completing_upload.active = True
        try:
            return original_complete(self, *args, **kwargs)
        finally:
            _completing_upload.active = False

    s3_models.S3Backend.complete_multipart_upload = complete_multipart_upload

    original_delete = s3_models.S3Backend.delete_object

    def delete_object(
        self: Any, bucket_name: str, key_name: str, version_id: str | None = None, bypass: bool = False
    ) -> Any:
        deleted, meta = original_delete(self, bucket_name, key_name, version_id, bypass)
        if deleted and meta.get("delete-marker") == "true" and version_id is None:
            bucket = self.get_bucket(bucket_name)
            marker = next(
                (
                    k
                    for k in reversed(bucket.keys.getlist(key_name, []))
                    if str(k.version_id) == str(meta.get("version-id"))
                ),
                None,
            )
            if marker is not None:  # moto never announces the delete marker it just created
                s3_notifications.send_event(
                    self.account_id,
                    s3_notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT,
                    bucket,
                    marker,
                )
        return deleted, meta

    s3_models.S3Backend.delete_object = delete_object


def _s3_bucket_settings_judged_whole() -> None:
    """Bucket policies, notification configurations and default encryption are judged before
    moto stores them. moto stores any policy text (the policy check then fails every request
    to the bucket), any notification destination, and any encryption algorithm."""
    import xmltodict
    from moto.s3.exceptions import S3ClientError
    from moto.s3.responses import S3Response

    backend_class = s3_models.S3Backend
    original_policy, original_encryption = backend_class.put_bucket_policy, backend_class.put_bucket_encryption
    original_notification = S3Response._notification_config_from_body

    def put_bucket_policy(self: Any, bucket_name: str, policy: bytes) -> None:
        text = policy.decode("utf-8", "replace") if isinstance(policy, bytes) else str(policy)
        raise_refusal(refusals.s3_bucket_policy(text, bucket_name), S3ClientError)
        original_policy(self, bucket_name, policy)

    def put_bucket_encryption(self: Any, bucket_name: str, encryption: dict[str, Any]) -> None:
        raise_refusal(refusals.s3_bucket_encryption(encryption), S3ClientError)
        original_encryption(self, bucket_name, encryption)

    def notification_config_from_body(self: Any) -> dict[str, Any]:
        raw = (xmltodict.parse(self.body) or {}).get("NotificationConfiguration") or {}
        raise_refusal(refusals.s3_notification_filters(raw), S3ClientError)  # moto asserts on them: a 500
        configuration = original_notification(self)
        raise_refusal(refusals.s3_notification_overlaps(configuration), S3ClientError)
        raise_refusal(
            refusals.s3_notification_destinations(configuration, notification_destination_exists), S3ClientError
        )
        return configuration

    backend_class.put_bucket_policy = put_bucket_policy
    backend_class.put_bucket_encryption = put_bucket_encryption
    S3Response._notification_config_from_body = notification_config_from_body


def notification_destination_exists(kind: str, arn: str) -> bool:
    """Whether the queue, topic or function an S3 notification names exists (kind sqs, sns, lambda)."""
    from moto.sqs.models import sqs_backends

    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != kind:
        return False
    region, account = parts[3], parts[4]
    try:
        if kind == "sqs":
            return parts[5] in sqs_backends[account][region].queues
        if kind == "sns":
            return arn in sns_models.sns_backends[account][region].topics
        lambda_models.lambda_backends[account][region].get_function(arn)
        return True
    except Exception:  # moto's UnknownFunctionException, or a region moto does not know
        return False


def _bucket_hosts_as_the_kit_reads_them() -> None:
    """moto reads any dotted host name as ``<bucket>.<domain>``: a class served at
    ``lab-pc.local`` had every S3 request go to a bucket named ``lab-pc``. The host names a
    bucket only in S3's own virtual-hosted forms (:mod:`workshop.aws.s3_addressing`)."""
    from moto.s3.responses import S3Response

    from workshop.aws.s3_addressing import virtual_hosted_bucket

    def subdomain_based_buckets(request: Any) -> bool:
        host = request.headers.get("host", request.headers.get("Host")) or urlparse(request.url).netloc
        return virtual_hosted_bucket(host) is not None

    S3Response.subdomain_based_buckets = staticmethod(subdomain_based_buckets)
