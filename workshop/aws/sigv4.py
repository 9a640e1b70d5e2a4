"""The credential scope of a SigV4-signed request: whose key, which day, region and service."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

__all__ = ["CredentialScope", "credential_scope"]

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
