"""Which bucket a request names by its host: S3's virtual-hosted style, and only that.

AWS's virtual-hosted URLs are ``<bucket>.s3.<region>.amazonaws.com`` (or ``<bucket>.s3.amazonaws.com``):
https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
Locally the kit answers ``<bucket>.localhost`` and ``<bucket>.s3.<anything>`` too. Any other host
name is the emulator's own: a class served at ``lab-pc.local`` is reached path-style (boto3 always
uses path style with an explicit endpoint), so ``lab-pc`` must never be read as a bucket.
"""

from __future__ import annotations

import ipaddress

__all__ = ["virtual_hosted_bucket"]


def virtual_hosted_bucket(host: str) -> str | None:
    """The bucket a ``Host`` header names, or None for a path-style request."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host  # an IPv6 host has several
    try:
        ipaddress.ip_address(name.strip("[]"))
        return None
    except ValueError:
        pass
    bucket, _, rest = name.partition(".")
    if not bucket or not rest or bucket in ("s3", "localhost"):
        return None
    labels = rest.split(".")
    if labels == ["localhost"] or labels[0] == "s3" or labels[0].startswith("s3-"):
        return bucket
    return None
