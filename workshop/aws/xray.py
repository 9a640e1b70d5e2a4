"""X-Ray's formats: the trace header, trace and segment ids, annotation keys.

The header a request carries through the services that propagate it, ``X-Amzn-Trace-Id``
(``_X_AMZN_TRACE_ID`` in a function's environment, ``AWSTraceHeader`` on an SQS message):
``Root=1-<8 hex: epoch seconds>-<24 hex>;Parent=<16 hex>;Sampled=0|1``, with a ``Lineage`` AWS
services may add; https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
Segment documents and their ids: https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "ANNOTATION_KEY",
    "HEADER",
    "LAMBDA_ENVIRONMENT_VARIABLE",
    "MAX_TRACE_IDS_PER_BATCH",
    "RESOURCE_FIELDS",
    "SERVICE_NAMES",
    "SQS_ATTRIBUTE",
    "TraceHeader",
    "entities",
    "new_segment_id",
    "new_trace_id",
    "sending",
]

HEADER = "X-Amzn-Trace-Id"
LAMBDA_ENVIRONMENT_VARIABLE = "_X_AMZN_TRACE_ID"
SQS_ATTRIBUTE = "AWSTraceHeader"
TRACE_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
SEGMENT_ID = re.compile(r"^[0-9a-f]{16}$")
# "Keys must be alphanumeric in order to work with filters. Underscore is allowed."
ANNOTATION_KEY = re.compile(r"^[A-Za-z0-9_]{1,500}$")
# The names an AWS SDK call's subsegment carries, by the service's signing name (as the X-Ray SDK
# names them: https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html)
SERVICE_NAMES = {
    "dynamodb": "DynamoDB",
    "s3": "S3",
    "sns": "SNS",
    "sqs": "SQS",
    "lambda": "Lambda",
    "kms": "KMS",
    "logs": "CloudWatchLogs",
    "monitoring": "CloudWatch",
    "events": "EventBridge",
    "sts": "STS",
}
# The request fields that name a call's resource, and the subsegment's ``aws`` field for each.
RESOURCE_FIELDS = {
    "TableName": "table_name",
    "QueueUrl": "queue_url",
    "TopicArn": "topic_arn",
    "Bucket": "bucket_name",
    "Key": "key",
    "FunctionName": "function_name",
}
# BatchGetTraces: "Maximum number of 5 items" https://docs.aws.amazon.com/xray/latest/api/API_BatchGetTraces.html
MAX_TRACE_IDS_PER_BATCH = 5


def entities(segment: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """A segment document and all its subsegments, depth first."""
    yield segment
    for child in segment.get("subsegments", []):
        yield from entities(child)


def new_trace_id(now: float | None = None) -> str:
    """``1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>``."""
    return f"1-{int(time.time() if now is None else now):08x}-{secrets.token_hex(12)}"


def new_segment_id() -> str:
    """64 random bits, 16 hex digits."""
    return secrets.token_hex(8)


@dataclass(frozen=True)
class TraceHeader:
    """One request's trace context. ``sampled`` None: the decision is left to the next service."""

    root: str
    parent: str | None = None
    sampled: bool | None = None
    lineage: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> TraceHeader | None:
        """The header's fields; None when there is no well-formed Root (AWS then starts a trace)."""
        if not text:
            return None
        fields = {}
        for part in text.split(";"):
            key, _, value = part.strip().partition("=")
            fields[key] = value
        root = fields.get("Root", "")
        if not TRACE_ID.match(root):
            return None
        parent = fields.get("Parent")
        sampled = {"1": True, "0": False}.get(fields.get("Sampled", ""))
        return cls(root, parent if parent and SEGMENT_ID.match(parent) else None, sampled, fields.get("Lineage"))

    @classmethod
    def start(cls, sampled: bool = True) -> TraceHeader:
        return cls(new_trace_id(), None, sampled)

    def under(self, parent: str) -> TraceHeader:
        """The same trace, passed on by the segment ``parent``."""
        return replace(self, parent=parent)

    def __str__(self) -> str:
        text = f"Root={self.root}"
        if self.parent:
            text += f";Parent={self.parent}"
        if self.sampled is not None:
            text += f";Sampled={int(self.sampled)}"
        if self.lineage:
            text += f";Lineage={self.lineage}"
        return text


@contextlib.contextmanager
def sending(client: Any, header: TraceHeader | str | None) -> Iterator[Any]:
    """Within the block, ``client``'s requests carry ``header`` as ``X-Amzn-Trace-Id``, as an
    instrumented SDK client (the X-Ray SDK's, or botocore inside Lambda) sends it. None: unchanged."""
    if header is None:
        yield client
        return

    def add_header(request: Any, **_: Any) -> None:
        request.headers[HEADER] = str(header)

    client.meta.events.register("before-sign", add_header)
    try:
        yield client
    finally:
        client.meta.events.unregister("before-sign", add_header)
