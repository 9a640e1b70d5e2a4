"""A channel's intake: an S3 upload becomes records, exactly once, or a rejection with an alarm.

One code for every channel: what differs (the channel's name, its id and required fields)
comes from environment variables, so a new channel is configuration, not a copy of this file.
"""

import csv
import hashlib
import io
import json
import os
from urllib.parse import unquote_plus

import boto3

s3 = boto3.client("s3")
sns = boto3.client("sns")
dynamodb = boto3.resource("dynamodb")
documents = dynamodb.Table(os.environ["DOCUMENTS_TABLE"])
records = dynamodb.Table(os.environ["RECORDS_TABLE"])
CHANNEL, ID_FIELD = os.environ["CHANNEL"], os.environ["ID_FIELD"]
REQUIRED = os.environ["REQUIRED"].split(",")
NUMERIC = [f for f in os.environ.get("NUMERIC", "").split(",") if f]
ARCHIVE, ERROR, ALARM_TOPIC_ARN = (
    os.environ["ARCHIVE_BUCKET"],
    os.environ["ERROR_BUCKET"],
    os.environ["ALARM_TOPIC_ARN"],
)
# Bigger files are refused before they are read: parsing them would outlast the function's
# timeout and memory, and a file its intake keeps failing on would wait in incoming forever.
MAX_BYTES = int(os.environ.get("MAX_BYTES", str(10 * 1024 * 1024)))


class Rejected(Exception):
    """The file cannot be taken in; the message is the reason kept in the error bucket."""


def read_rows(key, body):
    """The file's rows as dicts of strings, every column kept (new properties flow through)."""
    if not body:
        raise Rejected("zero bytes")
    try:
        if key.endswith(".json"):
            rows = json.loads(body)[CHANNEL]
            if not isinstance(rows, list):
                raise Rejected(f"JSON whose '{CHANNEL}' is not a list")
        else:
            rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Rejected(f"unreadable: {type(error).__name__}") from None
    except (KeyError, TypeError):
        raise Rejected(f"JSON without the '{CHANNEL}' list") from None
    if not rows:
        raise Rejected("no records")
    for row in rows:
        missing = [f for f in REQUIRED if row.get(f) in (None, "")]
        if missing:
            raise Rejected(f"record without {', '.join(missing)}")
        for field in NUMERIC:
            try:
                float(row[field])
            except (TypeError, ValueError):
                raise Rejected(f"record {row[ID_FIELD]}: {field} {row[field]!r} is not a number") from None
    return [{name: str(value) for name, value in row.items() if name is not None} for row in rows]


def claim(digest, key, sequencer):
    """True when this content is new, or when this is the same S3 event delivered again (S3
    delivers at least once; a redelivery carries the same sequencer, a new upload another)."""
    try:
        documents.put_item(
            Item={"ContentHash": digest, "Key": key, "Sequencer": sequencer, "Channel": CHANNEL, "Status": "started"},
            ConditionExpression="attribute_not_exists(ContentHash)",
        )
        return True
    except documents.meta.client.exceptions.ConditionalCheckFailedException:
        seen = documents.get_item(Key={"ContentHash": digest}, ConsistentRead=True).get("Item", {})
        return seen.get("Key") == key and seen.get("Sequencer") == sequencer


def move(source, key, target, metadata):
    """Copy, then delete: a crash in between leaves two copies, never none."""
    safe = {k: v.encode("ascii", "backslashreplace").decode()[:1024] for k, v in metadata.items()}
    try:
        s3.copy_object(
            CopySource={"Bucket": source, "Key": key},
            Bucket=target,
            Key=key,
            Metadata=safe,
            MetadataDirective="REPLACE",
        )
    except s3.exceptions.NoSuchKey:
        return  # a redelivery of the same event moved it first
    s3.delete_object(Bucket=source, Key=key)


def take_in(bucket, key, sequencer):
    try:
        found = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        return {"key": key, "already": "moved on by an earlier delivery of the same event"}
    try:
        if found["ContentLength"] > MAX_BYTES:
            found["Body"].close()
            raise Rejected(f"too large: {found['ContentLength']} bytes, the limit is {MAX_BYTES}")
        body = found["Body"].read()
        rows = read_rows(key, body)
        digest = hashlib.sha256(body).hexdigest()
        if not claim(digest, key, sequencer):
            raise Rejected("duplicate: the same content arrived before")
    except Rejected as rejection:
        reason = str(rejection)
        move(bucket, key, ERROR, {"reason": reason, "channel": CHANNEL})
        sns.publish(
            TopicArn=ALARM_TOPIC_ARN,
            Subject=f"Rejected {CHANNEL} file",
            Message=json.dumps({"channel": CHANNEL, "key": key, "reason": reason}),
        )
        return {"key": key, "rejected": reason}
    # Everything from here is safe to do twice (a redelivery, a retry after a crash): the same
    # items again change nothing in the table or its stream, and a move is copy-then-delete.
    with records.batch_writer(overwrite_by_pkeys=["RecordKey"]) as batch:
        for row in rows:
            batch.put_item(
                Item={**row, "RecordKey": f"{CHANNEL}#{row[ID_FIELD]}", "Channel": CHANNEL, "SourceFile": key}
            )
    documents.update_item(
        Key={"ContentHash": digest},
        UpdateExpression="SET #s = :done",
        ExpressionAttributeNames={"#s": "Status"},
        ExpressionAttributeValues={":done": "done"},
    )
    move(bucket, key, ARCHIVE, {"channel": CHANNEL, "records": str(len(rows))})
    return {"key": key, "records": len(rows)}


def handler(event, context):
    results, ignored = [], []
    records = event.get("Records") if isinstance(event, dict) else None
    for number, record in enumerate(records if isinstance(records, list) else []):
        try:
            bucket, obj = record["s3"]["bucket"]["name"], record["s3"]["object"]
            key, sequencer = unquote_plus(obj["key"]), obj.get("sequencer", "")
        except (KeyError, TypeError) as error:  # not an S3 record: say so, and go on with the others
            ignored.append({"record": number, "why": f"not an S3 event record ({type(error).__name__}: {error})"})
            print(json.dumps(ignored[-1]))
            continue
        results.append(take_in(bucket, key, sequencer))
        print(json.dumps(results[-1]))
    if not isinstance(records, list):
        ignored.append({"why": "the event has no Records list"})
        print(json.dumps(ignored[-1]))
    return {"files": results, "ignored": ignored}
