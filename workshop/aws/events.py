"""Events shaped exactly like AWS's documented samples, field for field.

Learners believe the events they print, so every record the emulator delivers is built
here: the S3 notification record (event version 2.1), the SNS envelope in its SQS/HTTP
and Lambda spellings, the SQS and DynamoDB Streams records of event-source mappings, and
the records Lambda sends to on-failure destinations. Pure functions of plain values.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

# Placeholder identities in the format AWS uses; locally there is no real caller.
LOCAL_PRINCIPAL = "AWS:AIDAEXAMPLELOCALUSER"
BUCKET_OWNER = "A3NL1KOZZKEXAMPLE"
SQS_SENDER = "AIDAEXAMPLELOCALSENDER"


def iso_millis(moment: datetime | None = None) -> str:
    """``2026-11-22T10:15:30.123Z``: the timestamp format of S3, SNS and Lambda records."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


EMPTY_ETAG = "d41d8cd98f00b204e9800998ecf8427e"  # a delete marker's eTag: the MD5 of no bytes


def s3_encode_key(key: str) -> str:
    """Object keys in S3 events are form-URL-encoded the way Java's URLEncoder does it: letters,
    digits, ``* - . _`` and ``/`` stay, a space becomes ``+``, every other UTF-8 byte is
    percent-escaped (``+`` -> %2B, ``~`` -> %7E, ``é`` -> %C3%A9). Handlers must
    ``urllib.parse.unquote_plus`` it before using it as a key."""
    return quote(key, safe="/*").replace("~", "%7E").replace("%20", "+")


def s3_request_ids() -> tuple[str, str]:
    """A request id (16 hex digits) and an extended id (x-amz-id-2) in S3's formats."""
    request_id = uuid.uuid4().hex[:16].upper()
    host_id = base64.b64encode(hashlib.sha384(request_id.encode()).digest()).decode()
    return request_id, host_id


def s3_event_record(
    *,
    event_name: str,
    region: str,
    bucket: str,
    bucket_arn: str,
    key: str,
    size: int,
    etag: str,
    version_id: str | None,
    configuration_id: str,
    sequencer: str,
    event_time: datetime | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """One record of an S3 event notification; ``event_name`` with or without the ``s3:``."""
    name = event_name.removeprefix("s3:")
    request_id, host_id = s3_request_ids()
    obj: dict[str, Any] = {"key": s3_encode_key(key)}
    if name.startswith("ObjectCreated"):
        obj.update(size=size, eTag=etag)
    elif name == "ObjectRemoved:DeleteMarkerCreated":  # a marker has an (empty) eTag, no size
        obj["eTag"] = EMPTY_ETAG
    if version_id:
        obj["versionId"] = version_id
    obj["sequencer"] = sequencer
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": iso_millis(event_time),
        "eventName": name,
        "userIdentity": {"principalId": LOCAL_PRINCIPAL},
        "requestParameters": {"sourceIPAddress": source_ip},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": BUCKET_OWNER}, "arn": bucket_arn},
            "object": obj,
        },
    }


def s3_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


def _signature(*parts: str) -> str:
    """A signature-shaped value; local messages are not signed with an AWS certificate."""
    return base64.b64encode(hashlib.sha512("\n".join(parts).encode()).digest() * 4).decode()


def sns_notification(
    *,
    message_id: str,
    topic_arn: str,
    subject: str | None,
    message: str,
    message_attributes: dict[str, dict[str, Any]],
    unsubscribe_url: str,
    signing_cert_url: str,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """The JSON SNS delivers to SQS (without raw delivery) and to HTTP endpoints."""
    notification: dict[str, Any] = {"Type": "Notification", "MessageId": message_id, "TopicArn": topic_arn}
    if subject is not None:
        notification["Subject"] = subject  # absent, not null, when the publisher gave none
    notification.update(
        {
            "Message": message,
            "Timestamp": iso_millis(timestamp),
            "SignatureVersion": "1",
            "Signature": _signature(message_id, topic_arn, message),
            "SigningCertURL": signing_cert_url,
            "UnsubscribeURL": unsubscribe_url,
        }
    )
    if message_attributes:
        notification["MessageAttributes"] = {
            name: {"Type": value["Type"], "Value": value["Value"]} for name, value in message_attributes.items()
        }
    return notification


def sns_lambda_record(notification: dict[str, Any], *, subscription_arn: str) -> dict[str, Any]:
    """The same notification as Lambda receives it: URL fields spelled ``Url``, Subject null
    when absent, MessageAttributes always present."""
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": notification["Type"],
            "MessageId": notification["MessageId"],
            "TopicArn": notification["TopicArn"],
            "Subject": notification.get("Subject"),
            "Message": notification["Message"],
            "Timestamp": notification["Timestamp"],
            "SignatureVersion": notification["SignatureVersion"],
            "Signature": notification["Signature"],
            "SigningCertUrl": notification["SigningCertURL"],
            "UnsubscribeUrl": notification["UnsubscribeURL"],
            "MessageAttributes": notification.get("MessageAttributes", {}),
        },
    }


_SQS_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
)


def sqs_lambda_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """A message as ReceiveMessage returns it (All attributes), as Lambda hands it over."""
    received = message.get("Attributes", {})
    attributes = {name: str(received[name]) for name in _SQS_RECORD_ATTRIBUTES if name in received}
    attributes.setdefault("SenderId", SQS_SENDER)
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {
            name: _lambda_message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        # AWS sends this on every record, null when the message has no attributes
        "md5OfMessageAttributes": message.get("MD5OfMessageAttributes") or None,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = _base64(value["BinaryValue"])
    converted["stringListValues"] = value.get("StringListValues", [])
    converted["binaryListValues"] = value.get("BinaryListValues", [])
    converted["dataType"] = value["DataType"]
    return converted


def _number_size(text: str) -> int:
    digits = text.lstrip("-").split("e")[0].split("E")[0].replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1 + text.startswith("-")


def _value_size(value: dict[str, Any]) -> int:
    """One attribute value's bytes, by DynamoDB's item size rules (name not counted)."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return len(data) if isinstance(data, bytes) else len(base64.b64decode(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(member.encode()) for member in data)
    if kind == "NS":
        return sum(_number_size(member) for member in data)
    if kind == "BS":
        return sum(_value_size({"B": member}) for member in data)
    if kind == "L":  # 3 bytes of overhead, and 1 per element
        return 3 + sum(_value_size(element) + 1 for element in data)
    return 3 + sum(len(name.encode()) + _value_size(element) + 1 for name, element in data.items())  # M


def item_size(attributes: dict[str, dict[str, Any]]) -> int:
    """The size of an item (DynamoDB JSON, ``{"Id": {"N": "101"}}``) by DynamoDB's rules: names'
    UTF-8 bytes plus values' (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in attributes.items())


def stream_record_size(change: dict[str, Any]) -> int:
    """A stream record's SizeBytes: its Keys and images sized as items. AWS's sample records
    (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html) add up this way: 26, 59, 38."""
    return sum(item_size(change[part]) for part in ("Keys", "NewImage", "OldImage") if part in change)


def dynamodb_lambda_record(record: dict[str, Any], *, stream_arn: str) -> dict[str, Any]:
    """A GetRecords record (boto3 or raw JSON) as Lambda delivers it from a stream."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created = created.replace(tzinfo=created.tzinfo or UTC).timestamp()
    # whole seconds as a JSON float (1664559083.0), as AWS sends them today
    change["ApproximateCreationDateTime"] = float(int(float(created) if created is not None else time.time()))
    for image in ("Keys", "NewImage", "OldImage"):
        if image in change:
            change[image] = {name: _attribute_json(value) for name, value in change[image].items()}
    ordered = {
        name: change[name]
        for name in (
            "ApproximateCreationDateTime",
            "Keys",
            "NewImage",
            "OldImage",
            "SequenceNumber",
            "SizeBytes",
            "StreamViewType",
        )
        if name in change
    }
    lambda_record = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": stream_arn.split(":")[3],
        "dynamodb": ordered,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # TTL deletions say who removed the item
        lambda_record["userIdentity"] = record["userIdentity"]
    return lambda_record


def _attribute_json(value: dict[str, Any]) -> dict[str, Any]:
    """An attribute value in DynamoDB's wire JSON: boto3 hands binaries over as bytes, Lambda
    receives them as base64 text."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {kind: _base64(inner)}
    if kind == "BS":
        return {kind: [_base64(item) for item in inner]}
    if kind == "M":
        return {kind: {name: _attribute_json(item) for name, item in inner.items()}}
    if kind == "L":
        return {kind: [_attribute_json(item) for item in inner]}
    return {kind: inner}


def _base64(data: bytes | str) -> str:
    return base64.b64encode(data).decode() if isinstance(data, (bytes, bytearray)) else data


def stream_failure_record(
    *,
    condition: str,
    function_arn: str,
    approximate_invoke_count: int,
    shard_id: str,
    stream_arn: str,
    records: list[dict[str, Any]],
    function_error: str | None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """What a stream mapping sends to its OnFailure destination for a batch it gave up on."""
    arrivals = [_arrival(r) for r in records]
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response_context["functionError"] = function_error
    return {
        "requestContext": {
            "requestId": request_id or str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": approximate_invoke_count,
        },
        "responseContext": response_context,
        "version": "1.0",
        "timestamp": iso_millis(),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": arrivals[0],
            "approximateArrivalOfLastRecord": arrivals[-1],
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def _arrival(record: dict[str, Any]) -> str:
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if not isinstance(created, datetime):
        created = datetime.fromtimestamp(float(created or time.time()), UTC)
    return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def async_destination_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    approximate_invoke_count: int,
    request_payload: Any,
    response_payload: Any = None,
    function_error: str | None = None,
    executed_version: str = "$LATEST",
    with_response: bool = True,
) -> dict[str, Any]:
    """The record an asynchronous invocation sends to its OnSuccess / OnFailure destination."""
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": executed_version}
    if function_error:
        response_context["functionError"] = function_error
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": iso_millis(),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": approximate_invoke_count,
        },
        "requestPayload": request_payload,
        "responseContext": response_context,
    }
    if with_response:
        record["responsePayload"] = response_payload
    return record
