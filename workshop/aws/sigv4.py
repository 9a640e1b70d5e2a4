"""SigV4 as a server reads it: a request's credential scope, and whether its signature is right.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["CredentialScope", "credential_scope", "signature_problem"]

# A signature older or newer than this is refused, so a captured request cannot be replayed later:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html
MAXIMUM_SKEW = timedelta(minutes=15)
_SIGNED_HEADERS = re.compile(r"SignedHeaders=([^,\s]*)")
_SIGNATURE = re.compile(r"Signature=([0-9a-f]*)")

# <access key>/<yyyymmdd>/<region>/<service>/aws4_request
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
_SCOPE = re.compile(r"(?P<access_key>[^/]+)/(?P<date>\d+)/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
_HEADER_CREDENTIAL = re.compile(r"Credential=([^,\s]*)")


@dataclass(frozen=True)
class CredentialScope:
    access_key: str
    date: str
    region: str
    service: str


def credential_scope(environ: Mapping[str, Any]) -> CredentialScope | None:
    """The scope a request was signed for, from its Authorization header or, for a presigned
    URL, its ``X-Amz-Credential`` query parameter (the header first); None for a request not
    signed with SigV4."""
    signed = _HEADER_CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    scope = _SCOPE.fullmatch(signed.group(1)) if signed else None
    if scope is None and "X-Amz-Credential" in environ.get("QUERY_STRING", ""):
        presigned = parse_qs(environ["QUERY_STRING"]).get("X-Amz-Credential") or [""]
        scope = _SCOPE.fullmatch(presigned[0])
    return CredentialScope(**scope.groupdict()) if scope else None


def _header(environ: Mapping[str, Any], name: str) -> str:
    """A request header as the client sent it, from the WSGI environ's spelling of it."""
    if name in ("content-type", "content-length"):
        return str(environ.get(name.upper().replace("-", "_"), ""))
    return str(environ.get("HTTP_" + name.upper().replace("-", "_"), ""))


def signature_problem(environ: Mapping[str, Any], body: bytes, secret: str, now: datetime | None = None) -> str | None:
    """None when the request's Authorization header was signed with ``secret``; else what is wrong
    (AWS's error code). The canonical request is rebuilt from the path and query exactly as sent
    (``RAW_URI``), the signed headers and the body, by botocore's own signer."""
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    scope = credential_scope(environ)
    signed_headers = _SIGNED_HEADERS.search(authorization)
    signature = _SIGNATURE.search(authorization)
    stamp = _header(environ, "x-amz-date")
    if not (authorization.startswith("AWS4-HMAC-SHA256 ") and scope and signed_headers and signature and stamp):
        return "MissingAuthenticationToken"
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "IncompleteSignature"
    if abs((now or datetime.now(UTC)) - signed_at) > MAXIMUM_SKEW:
        return "RequestTimeTooSkewed"
    headers = {name: _header(environ, name) for name in signed_headers.group(1).split(";") if name}
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/"))
    if "?" not in raw and environ.get("QUERY_STRING"):
        raw += "?" + str(environ["QUERY_STRING"])
    request = AWSRequest(
        method=str(environ.get("REQUEST_METHOD", "GET")),
        url=f"http://{headers.get('host', 'localhost')}{raw}",
        data=body,
        headers=headers,
    )
    request.context["timestamp"] = stamp
    signer = (S3SigV4Auth if scope.service == "s3" else SigV4Auth)(
        Credentials(scope.access_key, secret), scope.service, scope.region
    )
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return None if hmac.compare_digest(expected, signature.group(1)) else "SignatureDoesNotMatch"
