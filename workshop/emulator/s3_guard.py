"""What S3 checks before moto stores or returns an object: KMS keys and bucket policies.

For every S3 request the emulator derives the policy condition keys from the request
(see :mod:`workshop.aws.bucket_policies`) for moto's bucket-policy check, refuses an
SSE-KMS upload or download whose key is unknown, disabled or pending deletion the way S3
does, and gives moto's bare 403s AWS's AccessDenied error body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from workshop.aws import bucket_policies, s3_addressing, sigv4
from workshop.aws.errors import AwsError
from workshop.emulator.moto_adapters import kms as moto_kms
from workshop.emulator.moto_adapters import s3 as moto_s3

AWS_MANAGED_S3_KEY = "alias/aws/s3"


def is_s3_request(environ: dict[str, Any]) -> bool:
    scope = sigv4.credential_scope(environ)
    return scope is not None and scope.service == "s3"


def bucket_and_key(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """Path-style (/bucket/key) or virtual-hosted (bucket.localhost/key) addressing."""
    path = unquote(environ.get("PATH_INFO", ""))
    bucket = s3_addressing.virtual_hosted_bucket(environ.get("HTTP_HOST", ""))
    if bucket:
        return bucket, path.lstrip("/") or None
    parts = path.lstrip("/").split("/", 1)
    return (parts[0] or None), (parts[1] if len(parts) > 1 and parts[1] else None)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    return {key[5:].lower().replace("_", "-"): value for key, value in environ.items() if key.startswith("HTTP_")}


def kms_refusal(environ: dict[str, Any], region: str) -> AwsError | None:
    """S3's answer when the object's KMS key cannot be used, else None."""
    bucket, key = bucket_and_key(environ)
    method = environ.get("REQUEST_METHOD")
    if not bucket or not key or "uploadId" in environ.get("QUERY_STRING", "") and method == "PUT":
        return None
    headers = _headers(environ)
    if method == "PUT":
        if headers.get("x-amz-server-side-encryption") in ("aws:kms", "aws:kms:dsse"):
            key_ref = headers.get("x-amz-server-side-encryption-aws-kms-key-id") or AWS_MANAGED_S3_KEY
        else:
            key_ref = None if headers.get("x-amz-server-side-encryption") else moto_s3.bucket_default_kms_key(bucket)
    elif method in ("GET", "HEAD") and not environ.get("QUERY_STRING"):
        key_ref = moto_s3.object_kms_key(bucket, key)
    else:
        key_ref = None
    if not key_ref or key_ref == AWS_MANAGED_S3_KEY:
        return None
    state = moto_kms.kms_key_state(region, key_ref)
    if state is None:
        return AwsError("KMS.NotFoundException", f"Invalid keyId '{key_ref}'")
    arn, key_state = state
    if key_state == "Disabled":
        return AwsError("KMS.DisabledException", f"{arn} is disabled.")
    if key_state == "PendingDeletion":
        return AwsError("KMS.KMSInvalidStateException", f"{arn} is pending deletion.")
    return None


def handle(environ: dict[str, Any], start_response: Callable, moto_app: Any, region: str) -> Iterable[bytes]:
    refusal = kms_refusal(environ, region)
    if refusal is not None:
        if environ.get("REQUEST_METHOD") == "PUT":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            environ["wsgi.input"].read(length)  # consume the upload we refuse
        return refusal.xml_response(start_response)
    moto_s3.set_s3_request_context(
        bucket_policies.request_context(_headers(environ), secure=environ.get("wsgi.url_scheme") == "https")
    )
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured.update(status=status, headers=headers)
        return lambda data: None

    try:
        response = moto_app(environ, capture)  # moto decides (and checks the policy) within the call
    finally:
        moto_s3.set_s3_request_context(None)
    if captured["status"].startswith("403"):
        body = b"".join(response)
        if not body.strip():
            return AwsError("AccessDenied", "Access Denied", 403).xml_response(start_response)
        response = [body]
    start_response(captured["status"], captured["headers"])
    return response  # streamed: a large GetObject is never held twice
