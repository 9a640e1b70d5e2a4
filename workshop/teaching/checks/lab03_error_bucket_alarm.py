"""Lab 3: the digester's routing and alarm, and the processor's output.

Longer than 400 lines: a lab's checks are one module, found by the lab's number, and 3.1 runs the
learner's digester through every delivery AWS may make of an upload (a redelivery before and after
the move, a duplicate upload, an interrupted move) to name the one it mishandles.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

from botocore.exceptions import ClientError

from workshop.teaching.checks.support import (
    describe_error,
    error_code,
    invoke_raw,
    new_sequencer,
    require_function,
    require_handler_attempted,
    s3_put_event,
)
from workshop.teaching.grading import Context, Incorrect, exercise, question

SOLUTION = "03_error_bucket_alarm.ipynb"
DIGESTER_FILE, PROCESSOR_FILE = "handlers/digester.py", "handlers/processor.py"
TABLE = "documents-received"
HEADER = "order_id,customer,product,quantity,unit_price\n"
ALARM_WAIT_SECONDS = 5.0


def _exists(ctx: Context, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return ctx.client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchKey"):
            return None
        raise


def _digest(
    ctx: Context, key: str, body: bytes | None, check_id: str, sequencer: str | None = None, what: str = ""
) -> dict[str, Any]:
    """Put a file in incoming (unless ``body`` is None: the file is there already), hand its event
    to the digester, return its entry for the file. The same ``sequencer`` again is a redelivery."""
    incoming = ctx.names.bucket("incoming")
    s3 = ctx.client("s3")
    if body is not None:
        s3.put_object(Bucket=incoming, Key=key, Body=body, ContentType="text/csv")
        size = len(body)
    else:
        size = (_exists(ctx, incoming, key) or {}).get("ContentLength", 0)
    event = s3_put_event(ctx, incoming, key, size, check_id, sequencer=sequencer)
    result, error = invoke_raw(ctx, "digester", event)
    if error is not None:
        message = str(error.get("errorMessage", ""))
        if "CopyObject" in message and ("NoSuchKey" in message or "does not exist" in message):
            raise Incorrect(
                f"{ctx.names.function('digester')} could not copy {key!r}: it was deleted before it "
                "was copied. Copy first, then delete, or a crash in between loses the file"
            )
        raise Incorrect((f"on {what}: " if what else "") + describe_error(ctx, "digester", error))
    received = (result or {}).get("received") if isinstance(result, dict) else None
    if not received or not isinstance(received[0], dict):
        raise Incorrect(f"{ctx.names.function('digester')} returned {result!r}; expected {{'received': [...]}}")
    return received[0]


def _remove(ctx: Context, key: str) -> None:
    s3 = ctx.client("s3")
    for purpose in ("incoming", "in-progress", "error"):
        s3.delete_object(Bucket=ctx.names.bucket(purpose), Key=key)
    s3.delete_object(Bucket=ctx.names.bucket("processed"), Key=f"summaries/{key}.json")


def _unique_csv(quantity: str = "2") -> bytes:
    return f"{HEADER}{uuid.uuid4().int % 10**9},ana,mug,{quantity},8.50\n".encode()


def _record(ctx: Context, body: bytes, key: str, sequencer: str, status: str) -> str:
    """Write the idempotency record an earlier delivery of an upload left behind; its hash."""
    digest = hashlib.sha256(body).hexdigest()
    ctx.client("dynamodb").put_item(
        TableName=ctx.names.table(TABLE),
        Item={
            "ContentHash": {"S": digest},
            "Key": {"S": key},
            "Sequencer": {"S": sequencer},
            "Size": {"N": str(len(body))},
            "Status": {"S": status},
            "ReceivedAt": {"S": "2026-01-01T00:00:00+00:00"},
        },
    )
    return digest


def _forget(ctx: Context, bodies: list[bytes]) -> None:
    for body in bodies:
        ctx.client("dynamodb").delete_item(
            TableName=ctx.names.table(TABLE), Key={"ContentHash": {"S": hashlib.sha256(body).hexdigest()}}
        )


@exercise(
    "3.1",
    "Route good and bad files, redeliveries and duplicates",
    solution=SOLUTION,
    hints=(
        "Two ways out of incoming: `move(bucket, key, ERROR, {'reason': reason})` for a file with a reason, "
        "`move(bucket, key, IN_PROGRESS, {})` for a good one. A rejected file also raises the alarm: call "
        "`alarm(key, reason)` after moving it.",
        "Status 'done before' means this upload was routed already and the file at the key is a later upload with "
        "its own event: leave it and set route = 'done before'. Status 'redelivery' is this same upload, not finished: "
        "move it on to in-progress like a new file.",
        "Set `route = 'error'`, `route = 'in-progress'` or `route = 'done before'` in each branch, so the handler "
        "reports where the file went.",
    ),
)
def routing(ctx: Context) -> str:
    require_handler_attempted(ctx, DIGESTER_FILE)
    name = require_function(ctx, "digester")["FunctionName"]
    incoming, error_bucket = ctx.names.bucket("incoming"), ctx.names.bucket("error")
    in_progress = ctx.names.bucket("in-progress")
    tag = uuid.uuid4().hex[:8]
    bad_key, good_key = f"checks/3.1 bad {tag}.csv", f"checks/3.1 good {tag}.csv"
    copy_key, died_key, later_key = (
        f"checks/3.1 copy of good {tag}.csv",
        f"checks/3.1 died mid-move {tag}.csv",
        f"checks/3.1 re-sent {tag}.csv",
    )
    good_body, died_body, later_body = _unique_csv(), _unique_csv(), _unique_csv()
    s3 = ctx.client("s3")
    try:
        bad = _digest(ctx, bad_key, _unique_csv(quantity="two"), "3.1", what="a malformed file")
        bad_in_error, bad_left = _exists(ctx, error_bucket, bad_key), _exists(ctx, incoming, bad_key)
        good_upload = new_sequencer()
        good = _digest(ctx, good_key, good_body, "3.1", good_upload, what="a good file")
        good_in_progress, good_left = _exists(ctx, in_progress, good_key), _exists(ctx, incoming, good_key)
        good_in_error = _exists(ctx, error_bucket, good_key)
        good_processed = _exists(ctx, ctx.names.bucket("processed"), f"summaries/{good_key}.json")
        _digest(ctx, good_key, None, "3.1", good_upload, what="the good file's event delivered again")
        again_in_error = _exists(ctx, error_bucket, good_key)
        copy = _digest(ctx, copy_key, good_body, "3.1", what="another upload of the good file's content")
        copy_in_error = _exists(ctx, error_bucket, copy_key)
        # An upload whose first delivery died between copy and delete: in both buckets, its record 'started'.
        died_upload = new_sequencer()
        _record(ctx, died_body, died_key, died_upload, "started")
        s3.put_object(Bucket=incoming, Key=died_key, Body=died_body, ContentType="text/csv")
        s3.copy_object(CopySource={"Bucket": incoming, "Key": died_key}, Bucket=in_progress, Key=died_key)
        died = _digest(
            ctx,
            died_key,
            None,
            "3.1",
            died_upload,
            what="the redelivered event of an upload whose first delivery died between copy and delete",
        )
        died_left, died_in_error = _exists(ctx, incoming, died_key), _exists(ctx, error_bucket, died_key)
        # An upload routed before whose event comes again after a later upload of the same bytes landed.
        later_upload = new_sequencer()
        _record(ctx, later_body, later_key, later_upload, "done")
        s3.put_object(Bucket=incoming, Key=later_key, Body=later_body, ContentType="text/csv")
        later = _digest(
            ctx, later_key, None, "3.1", later_upload, what="the redelivered event of an upload routed before"
        )
        later_left, later_in_error = _exists(ctx, incoming, later_key), _exists(ctx, error_bucket, later_key)
    finally:
        for key in (bad_key, good_key, copy_key, died_key, later_key):
            _remove(ctx, key)
        _forget(ctx, [good_body, died_body, later_body])
    if bad_in_error is None and bad_left is None and bad.get("route") == "error":
        raise Incorrect(
            f"{name} lost a malformed file: it reported route 'error' but the file is in neither "
            f"{error_bucket} nor {incoming}. Copy first, then delete, or a crash in between loses the file"
        )
    if bad_in_error is None:
        raise Incorrect(
            f"{name} left a malformed file (non-numeric quantity) out of {error_bucket}; it reported "
            f"route {bad.get('route')!r}"
        )
    if "reason" not in bad_in_error.get("Metadata", {}):
        raise Incorrect(
            f"the malformed file is in {error_bucket} without a 'reason' in its metadata: pass "
            "{'reason': reason} to move"
        )
    if bad_left is not None:
        raise Incorrect(
            f"the malformed file is in {error_bucket} but still in {incoming} too: move deletes after copying"
        )
    if good_in_error is not None:
        raise Incorrect(f"{name} sent a good file to {error_bucket}; good files go to {in_progress}")
    if good_in_progress is None and good_left is not None:
        raise Incorrect(f"{name} left a good file in {incoming}; it should move to {in_progress}")
    if good_in_progress is None and good_left is None and good_processed is None:
        raise Incorrect(
            f"{name} lost a good file: it is neither in {incoming} nor in {in_progress}, and the processor "
            "wrote no summary of it. Copy first, then delete, or a crash in between loses the file"
        )
    if good.get("route") != "in-progress" or bad.get("route") != "error":
        raise Incorrect(
            f"{name} reported routes {bad.get('route')!r} (malformed) and {good.get('route')!r} (good); "
            "expected 'error' and 'in-progress'"
        )
    if again_in_error is not None:
        raise Incorrect(
            f"the good file's event delivered a second time put it in {error_bucket}: a redelivery is "
            "not a duplicate. The file had moved on already; acknowledge the event and do nothing"
        )
    if copy_in_error is None or copy.get("route") != "error":
        raise Incorrect(
            f"another upload of the same content ({copy_key!r}) reported status {copy.get('status')!r} "
            f"and route {copy.get('route')!r}: a duplicate goes to {error_bucket} with its reason and "
            "an alarm"
        )
    if died_in_error is not None or died.get("route") == "error":
        raise Incorrect(
            f"{name} rejected a redelivery: {died_key!r} had its record written by this same upload "
            "(same Key and Sequencer, Status 'started': the first delivery died between copy and "
            f"delete). Status {died.get('status')!r} means: finish the move to {in_progress}"
        )
    if died_left is not None:
        raise Incorrect(
            f"{name} left {died_key!r} in {incoming}: its first delivery died between copy and delete, "
            f"and this redelivery (status {died.get('status')!r}) must finish the move to {in_progress}"
        )
    if later_left is None or later_in_error is not None or later.get("route") != "done before":
        raise Incorrect(
            f"{name} moved {later_key!r} (route {later.get('route')!r}) on a redelivered event whose "
            "upload was routed before (its record says Status 'done'): the file now at that key is a "
            "later upload of the same bytes with an event of its own. With status 'done before', leave "
            "it where it is and set route = 'done before'"
        )
    return (
        f"{name} moves a malformed file and a duplicate upload to {error_bucket} with their reason, a good one "
        f"to {in_progress}, finishes an interrupted move on redelivery and leaves a routed upload's "
        "redelivery alone"
    )


def _alarms_for(ctx: Context, key: str) -> list[dict[str, Any]]:
    """The alarm-inbox messages about ``key`` (consumed); others are left for the learner."""
    sqs = ctx.client("sqs")
    url = sqs.get_queue_url(QueueName=ctx.names.queue("alarm-inbox"))["QueueUrl"]
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + ALARM_WAIT_SECONDS
    while not found and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=2
        ).get("Messages", []):
            if key in message["Body"]:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


@exercise(
    "3.2",
    "Raise the alarm",
    solution=SOLUTION,
    hints=(
        "`sns.publish(TopicArn=ALARM_TOPIC_ARN, Subject=..., Message=...)` sends one message to every subscriber.",
        "Message is a string: build it with `json.dumps({'key': key, 'reason': reason})`.",
        "Subject is what an email subscriber sees first; something like 'Rejected order file' (at most 100 "
        "characters).",
    ),
)
def alarm(ctx: Context) -> str:
    require_handler_attempted(ctx, DIGESTER_FILE)
    name = require_function(ctx, "digester")["FunctionName"]
    topic = ctx.names.topic("digester-alarm")
    key = f"checks/3.2 empty {uuid.uuid4().hex[:8]}.csv"
    try:
        _digest(ctx, key, b"", "3.2")
        found = _alarms_for(ctx, key)
    finally:
        _remove(ctx, key)
    if not found:
        raise Incorrect(
            f"no message about {key!r} reached {topic}'s alarm-inbox queue within "
            f"{ALARM_WAIT_SECONDS:.0f} s after {name} rejected it (is the alarm-inbox cell run?)"
        )
    envelope = found[0]
    try:
        message = json.loads(envelope["Message"])
    except ValueError:
        raise Incorrect(
            f"the alarm's Message is not JSON: {envelope['Message'][:80]!r}; "
            "use json.dumps({'key': ..., 'reason': ...})"
        ) from None
    if not isinstance(message, dict) or message.get("key") != key:
        raise Incorrect(f"the alarm's Message should carry the decoded key {key!r} as 'key'; it is {message!r}")
    if not message.get("reason"):
        raise Incorrect(f"the alarm for {key!r} has no 'reason'; whoever reads it needs to know what was wrong")
    if not envelope.get("Subject"):
        raise Incorrect("the alarm has no Subject; give it one, such as 'Rejected order file'")
    return f"{topic} carries {{'key', 'reason'}} ({message['reason']!r}) with subject {envelope['Subject']!r}"


@exercise(
    "3.3",
    "The processor's summary",
    solution=SOLUTION,
    hints=(
        "Build the summary dict first: source, orders (len(rows)), total, customers.",
        "total is sum(int(r['quantity']) * float(r['unit_price']) for r in rows), rounded to 2 decimals; "
        "customers is sorted({r['customer'] for r in rows}).",
        "Write it with s3.put_object(Bucket=PROCESSED, Key=f'summaries/{key}.json', Body=json.dumps(summary).encode(), "
        "ContentType='application/json'), then delete the source from in-progress.",
    ),
)
def summary(ctx: Context) -> str:
    require_handler_attempted(ctx, PROCESSOR_FILE)
    name = require_function(ctx, "processor")["FunctionName"]
    in_progress, processed = ctx.names.bucket("in-progress"), ctx.names.bucket("processed")
    key = f"checks/3.3 orders {uuid.uuid4().hex[:8]}.csv"
    body = f"{HEADER}1,ana,mug,2,8.50\n2,bo,kettle,1,39.90\n3,ana,filter,3,4.25\n".encode()
    expected = {"source": key, "orders": 3, "total": 69.65, "customers": ["ana", "bo"]}
    s3 = ctx.client("s3")
    s3.put_object(Bucket=in_progress, Key=key, Body=body, ContentType="text/csv")
    event = s3_put_event(ctx, in_progress, key, len(body), "3.3")
    try:
        result, error = invoke_raw(ctx, "processor", event)
        if error is not None:
            raise Incorrect(describe_error(ctx, "processor", error))
        head = _exists(ctx, processed, f"summaries/{key}.json")
        written = (
            json.loads(s3.get_object(Bucket=processed, Key=f"summaries/{key}.json")["Body"].read()) if head else None
        )
        left = _exists(ctx, in_progress, key)
        _, again = invoke_raw(ctx, "processor", event) if left is None else (None, None)
    finally:
        _remove(ctx, key)
    if head is None:
        raise Incorrect(f"{name} wrote no summaries/{key}.json into {processed}")
    if not head.get("ContentType", "").startswith("application/json"):
        raise Incorrect(f"the summary has ContentType {head.get('ContentType')!r}; use 'application/json'")
    for field, value in expected.items():
        if not isinstance(written, dict) or written.get(field) != value:
            got = written.get(field) if isinstance(written, dict) else written
            raise Incorrect(
                f"the summary's {field!r} is {got!r}; for 3 orders (2 x 8.50 + 1 x 39.90 + 3 x 4.25) "
                f"by ana and bo it should be {value!r}"
            )
    if left is not None:
        raise Incorrect(f"{name} wrote the summary but left {key!r} in {in_progress}: delete it once processed")
    if again is not None:
        raise Incorrect(
            f"the same event delivered again, after {name} had processed and deleted the file, failed: "
            f"{describe_error(ctx, 'processor', again)}. An event whose file is gone was handled "
            "before: acknowledge it (catch s3.exceptions.NoSuchKey around get_object and continue)"
        )
    return (
        f"{name} writes a correct summary to {processed}, clears {in_progress}, and acknowledges the same "
        "event delivered again"
    )


# ---- check your understanding: notebook 03 asks 3.q1-3.q2, the lab 3.q3-3.q4 ----------------

WALKTHROUGH = "notebooks/03_error_bucket_alarm.ipynb"

question(
    "3.q1",
    "Copy, then delete",
    asked_in=WALKTHROUGH,
    answer="a",
    why={
        "a": "the worst case is the file in both buckets, which the retry of the same event cleans up: copying again "
        "and deleting is harmless",
        "b": "the bytes live in the function's memory, which dies with it; the retry reads the source bucket, where "
        "the file no longer is",
        "c": "CopyObject and DeleteObject are two separate requests: nothing undoes the first when the second never "
        "comes",
    },
    hints=("After each order's crash, where is the file, and where will the retry look for it?",),
)

question(
    "3.q2",
    "What the alarm queue receives",
    asked_in=WALKTHROUGH,
    answer="b",
    why={
        "a": "that is what raw message delivery would hand over; without it SNS wraps the message in its envelope",
        "b": "SNS delivers its JSON envelope, with the message you published as a string in 'Message': parse the "
        "body, then parse 'Message' again",
        "c": "'Message' is exactly the string you published: SNS does not parse it, so you call json.loads twice",
    },
    hints=("Look at the envelope fields the notebook printed. What type is 'Message'?",),
)

question(
    "3.q3",
    "A redelivery of an unfinished move",
    asked_in=f"solutions/{SOLUTION}",
    answer="c",
    why={
        "a": "the record names this very upload (same key and sequencer) with Status 'started': it is its own "
        "unfinished work; only another upload of the same content is a duplicate",
        "b": "only Status 'done' says the work finished; 'started' means the first delivery died between copy and "
        "delete (or is still running)",
        "c": "the record says this upload's move began and never finished, so the retry completes it: copy again "
        "(harmless), delete from incoming, mark it done",
    },
    hints=("Whose record is it, and what does its Status say about the move?",),
)

question(
    "3.q4",
    "Two alarms for one file",
    asked_in=f"solutions/{SOLUTION}",
    answer="a",
    why={
        "a": "alarms arrive at least once, so whoever reads them counts the files they name, not the messages",
        "b": "two deliveries of one bad file may run side by side and both publish, and SNS and SQS themselves "
        "deliver at least once: no handler can promise exactly one message",
        "c": "raw message delivery only drops SNS's envelope; delivery stays at least once",
    },
    hints=("Can anything between the digester and the queue promise exactly one message?",),
)
