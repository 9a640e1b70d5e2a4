"""The capstone's ledger: where every uploaded file ended up, and what became of its records."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from workshop.core.backend import Backend
from workshop.core.errors import error_code
from workshop.core.naming import Names
from workshop.lab_helpers.capstone.pipeline import ARCHIVE, ERROR, INCOMING, OUTPUT, RECORDS

PLACES = (("archive", ARCHIVE), ("error", ERROR), ("incoming", INCOMING))  # where a file can be, in that order


def ledger(aws: Backend, names: Names, keys: list[str]) -> list[dict[str, Any]]:
    """Where every uploaded file ended up, and what became of its records: one row per key.

    ``ended_in`` is archive (taken in), error (rejected, with its reason), incoming (not yet
    handled) or nowhere (lost); ``records`` are the records taken from it, ``delivered`` those
    with an output object, ``dead_lettered`` those not delivered that wait in their channel's
    dead-letter queue. (Delivery is at least once: a job done and also parked in the queue by
    a duplicate delivery counts as delivered.)
    """
    s3 = aws.client("s3")
    by_source: dict[str, list[str]] = {}
    for item in _scan(aws, names.table(RECORDS)):
        by_source.setdefault(item["SourceFile"]["S"], []).append(item["RecordKey"]["S"])
    outputs = _keys_in(s3, names.bucket(OUTPUT))
    found = {place: _keys_in(s3, names.bucket(purpose)) for place, purpose in PLACES}
    dead = _dead_lettered(aws, names, {key.split("/", 1)[0] for key in keys})
    rows = []
    for key in keys:
        place = next((place for place, _ in PLACES if key in found[place]), "nowhere")
        reason = _reason(s3, names, key) if place == "error" else ""
        records = by_source.get(key, []) if place == "archive" else []
        delivered = [r for r in records if "{}/{}.json".format(*r.split("#", 1)) in outputs]
        rows.append(
            {
                "file": key,
                "channel": key.split("/", 1)[0],
                "ended_in": place,
                "reason": reason,
                "records": len(records),
                "delivered": len(delivered),
                "dead_lettered": sum(1 for r in records if r in dead and r not in delivered),
            }
        )
    return rows


def unaccounted(rows: list[dict[str, Any]]) -> list[str]:
    """The kit's own conservation check over :func:`ledger` rows: every file archived or
    rejected, every record of an archived file delivered or dead-lettered. Empty when nothing
    was lost."""
    problems = []
    for row in rows:
        if row["ended_in"] not in ("archive", "error"):
            problems.append(f"{row['file']} is in {row['ended_in']}")
        elif row["ended_in"] == "archive" and (
            row["records"] == 0 or row["delivered"] + row["dead_lettered"] != row["records"]
        ):
            problems.append(
                f"{row['file']}: {row['records']} records, {row['delivered']} delivered, "
                f"{row['dead_lettered']} dead-lettered"
            )
    return problems


def outputs_of(aws: Backend, names: Names, keys: list[str]) -> list[dict[str, Any]]:
    """The output documents the worker wrote for the records of these files."""
    s3, wanted = aws.client("s3"), set(keys)
    documents = []
    for item in _scan(aws, names.table(RECORDS)):
        if item["SourceFile"]["S"] in wanted:
            key = "{}/{}.json".format(*item["RecordKey"]["S"].split("#", 1))
            documents.append(json.loads(s3.get_object(Bucket=names.bucket(OUTPUT), Key=key)["Body"].read()))
    return documents


def settled(aws: Backend, names: Names, keys: list[str]) -> list[dict[str, Any]] | None:
    """The ledger once nothing is unaccounted for, else None: for wait_for."""
    rows = ledger(aws, names, keys)
    return None if unaccounted(rows) else rows


def _keys_in(s3: Any, bucket: str) -> set[str]:
    """Every key in a bucket: one listing per thousand keys, not a request per file."""
    return {
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for obj in page.get("Contents", [])
    }


def _reason(s3: Any, names: Names, key: str) -> str:
    try:
        return s3.head_object(Bucket=names.bucket(ERROR), Key=key).get("Metadata", {}).get("reason", "")
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchKey", "NotFound"):
            return ""  # moved on since the listing
        raise


def _scan(aws: Backend, table: str) -> list[dict[str, Any]]:
    paginator = aws.client("dynamodb").get_paginator("scan")
    return [item for page in paginator.paginate(TableName=table, ConsistentRead=True) for item in page["Items"]]


def _dead_lettered(aws: Backend, names: Names, channels: set[str]) -> set[str]:
    """The record keys waiting in the channels' dead-letter queues, read without consuming them
    (a zero visibility timeout leaves every message where it was)."""
    sqs, keys = aws.client("sqs"), set()
    for channel in channels:
        dead = names.queue(Names.channel_purpose(channel, "dead"), fifo=True)
        try:
            url = sqs.get_queue_url(QueueName=dead)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            continue
        for _ in range(10):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
                "Messages", []
            )
            if not messages:
                break
            keys.update(json.loads(m["Body"]).get("RecordKey", "") for m in messages)
    return keys
