"""Lab 2, the idempotency table: documents-received and the digester's conditional write."""

from __future__ import annotations

import hashlib
import uuid

from workshop.teaching.checks.support import (
    describe_error,
    describe_table,
    invoke_raw,
    new_sequencer,
    require_function,
    require_handler_attempted,
    s3_put_event,
    table_setting_faults,
)
from workshop.teaching.grading import Context, Faults, Incorrect, NotAttempted, exercise, question

SOLUTION = "02_idempotency.ipynb"
TABLE = "documents-received"
KEY_ATTRIBUTE = "ContentHash"
DIGESTER = "digester"
HANDLER_FILE = "handlers/digester.py"


@exercise(
    "2.1",
    "The documents-received table",
    solution=SOLUTION,
    hints=(
        "What makes two files the same order file? Their content, not their name: the table's key is the hash "
        "of the content.",
        f"create_table needs TableName=names.table('{TABLE}'), KeySchema with one HASH key '{KEY_ATTRIBUTE}', its "
        "AttributeDefinitions (type 'S') and BillingMode='PAY_PER_REQUEST'.",
        "Tag it with Tags=[{'Key': 'workshop:env', 'Value': names.prefix}] and wait with the 'table_exists' waiter.",
    ),
)
def table_definition(ctx: Context) -> str:
    table = describe_table(ctx, TABLE)
    name = ctx.names.table(TABLE)
    if table is None:
        raise NotAttempted(f"there is no table {name} yet")
    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    faults = Faults()
    # A table's key schema cannot change: the way out of a wrong key is a new table, and the
    # notebook's "exists already" guard would otherwise keep the wrong one on every re-run.
    recreate = (
        f"A table's keys cannot be changed once it exists: delete it (dynamodb.delete_table(TableName="
        f"'{name}'), then the 'table_exists' waiter's twin 'table_not_exists') and run your corrected "
        "create_table cell again"
    )
    if keys.get("HASH") != KEY_ATTRIBUTE:
        faults.add(
            f"{name} is keyed by {keys.get('HASH')!r}; key it by {KEY_ATTRIBUTE!r}, the hash of the content, "
            "so the same file under another name is recognised as a duplicate. A key cannot be changed: "
            "delete the table and create it again",
            hint=recreate,
        )
    if "RANGE" in keys:
        faults.add(
            f"{name} has a range key {keys['RANGE']!r}: then only (hash, {keys['RANGE']}) pairs are unique and "
            "the same content could be recorded twice; use the hash key alone (delete the table and create it "
            "again)",
            hint=recreate,
        )
    if keys.get("HASH") == KEY_ATTRIBUTE and types.get(KEY_ATTRIBUTE) != "S":
        faults.add(
            f"{name}'s key {KEY_ATTRIBUTE} is of type {types.get(KEY_ATTRIBUTE)!r}; a hex digest is a string, "
            "'S' (delete the table and create it again)",
            hint=recreate,
        )
    for fault in table_setting_faults(ctx, table):
        faults.add(fault.message, hint=fault.hint)
    faults.raise_any()
    return f"{name} is keyed by {KEY_ATTRIBUTE} alone, on demand, tagged"


@exercise(
    "2.2",
    "Record each file once, and tell a redelivery from a duplicate",
    solution=SOLUTION,
    hints=(
        "A plain put_item overwrites silently: the second copy of a file looks new. DynamoDB can refuse the "
        "write instead when the item already exists.",
        f"put_item(..., ConditionExpression='attribute_not_exists({KEY_ATTRIBUTE})') fails with "
        "ConditionalCheckFailedException when the hash is already there: catch it (table.meta.client.exceptions."
        "ConditionalCheckFailedException), it is an answer, not an error.",
        "Put 'Key' and 'Sequencer' in the item, and ask for the holder with "
        "ReturnValuesOnConditionCheckFailure='ALL_OLD': the refusal's error.response['Item'] is the item that is "
        "there, typed ({'Key': {'S': ...}}). Same Key and Sequencer as this event: 'redelivery'; otherwise "
        "'duplicate'.",
    ),
)
def conditional_write(ctx: Context) -> str:
    require_handler_attempted(ctx, HANDLER_FILE)
    name = require_function(ctx, DIGESTER)["FunctionName"]
    table = ctx.names.table(TABLE)
    if describe_table(ctx, TABLE) is None:
        raise Incorrect(f"{name} records into {table}, which does not exist yet (exercise 2.1)")
    incoming = ctx.names.bucket("incoming")
    s3, dynamodb = ctx.client("s3"), ctx.client("dynamodb")
    body = f"order_id,customer,product,quantity,unit_price\n{uuid.uuid4().int % 10**9},ana,mug,1,8.50\n".encode()
    digest = hashlib.sha256(body).hexdigest()
    first, other = f"checks/2.2 first {digest[:8]}.csv", f"checks/2.2 same content, other name {digest[:8]}.csv"
    first_upload = new_sequencer()
    # (what happens, the key, the event's sequencer, whether the file is put first, the status it must get)
    deliveries = [
        ("the first upload of a file", first, first_upload, True, "new"),
        ("the same event delivered again (same key, same sequencer)", first, first_upload, False, "redelivery"),
        ("another upload of the same content under another name", other, new_sequencer(), True, "duplicate"),
        (
            "the same content uploaded again under the same name (a new sequencer)",
            first,
            new_sequencer(),
            True,
            "duplicate",
        ),
    ]
    statuses: list[str] = []
    try:
        for what, key, sequencer, uploaded, _ in deliveries:
            if uploaded:
                s3.put_object(Bucket=incoming, Key=key, Body=body, ContentType="text/csv")
            statuses.append(_status(ctx, name, key, len(body), sequencer, what))
        item = dynamodb.get_item(TableName=table, Key={KEY_ATTRIBUTE: {"S": digest}}, ConsistentRead=True).get("Item")
    finally:
        _remove(ctx, [first, other], digest)
    for (what, key, _, _, expected), status in zip(deliveries, statuses, strict=False):
        if status != expected:
            raise Incorrect(_mishandled(name, what, key, status, expected, statuses))
    if item is None:
        raise Incorrect(
            f"{name} reported the file as new but {table} has no item with {KEY_ATTRIBUTE} = the "
            "SHA-256 hex digest of its content"
        )
    held = {attribute: item.get(attribute, {}).get("S") for attribute in ("Key", "Sequencer")}
    if held != {"Key": first, "Sequencer": first_upload}:
        raise Incorrect(
            f"the item {name} wrote holds Key={held['Key']!r} and Sequencer={held['Sequencer']!r}; "
            f"it should name the first upload: Key={first!r}, Sequencer={first_upload!r}"
        )
    return (
        f"{name} records a file once in {table}, acknowledges its redelivered event, and reports another "
        "upload of the same content as a duplicate"
    )


def _status(ctx: Context, name: str, key: str, size: int, sequencer: str, what: str) -> str:
    """Hand the digester one S3 event; the status it reported for the file."""
    event = s3_put_event(ctx, ctx.names.bucket("incoming"), key, size, "2.2", sequencer=sequencer)
    result, error = invoke_raw(ctx, DIGESTER, event)
    if error is not None:
        if "ConditionalCheckFailed" in f"{error.get('errorType')} {error.get('errorMessage')}":
            raise Incorrect(
                f"{name} failed with ConditionalCheckFailedException on {what}: a refused write is "
                "an answer, not an error; catch it and report 'redelivery' or 'duplicate'"
            )
        missing = error.get("errorMessage") if error.get("errorType") == "KeyError" else None
        if missing == "'Item'":
            raise Incorrect(
                f"{name} failed with KeyError: 'Item' on {what}: a refusal carries the item that refused "
                "the write only when put_item asks for it: ReturnValuesOnConditionCheckFailure='ALL_OLD'"
            )
        if missing in ("'Key'", "'Sequencer'"):
            raise Incorrect(
                f"{name} failed with KeyError: {missing} on {what}: the item that refused the write has "
                f"no {missing}; write 'Key' and 'Sequencer' into the item, so a refusal says which "
                "upload holds it"
            )
        raise Incorrect(f"on {what}: {describe_error(ctx, DIGESTER, error)}")
    received = result.get("received") if isinstance(result, dict) else None
    if not received or not isinstance(received[0], dict) or "status" not in received[0]:
        raise Incorrect(
            f"{name} returned {result!r}; each received entry needs a 'status' ('new', 'redelivery' or 'duplicate')"
        )
    return received[0]["status"]


def _mishandled(name: str, what: str, key: str, status: str, expected: str, statuses: list[str]) -> str:
    """Which of the two kinds of 'twice' the digester got wrong, and what to do about it."""
    told = f"{name} reported {status!r} for {what} ({key!r}); expected {expected!r}"
    if expected == "new":
        return f"{told}. A file never seen before is new: is the item written when the hash is not there?"
    if status == "new":
        return (
            f"{told}: {name} accepted the same content twice. A plain put overwrites; write with "
            f"ConditionExpression='attribute_not_exists({KEY_ATTRIBUTE})'"
        )
    if expected == "redelivery":
        return (
            f"{told}. S3 delivers events at least once: this is the same upload again, not a second file. "
            "When the write is refused, read the holder (ReturnValuesOnConditionCheckFailure='ALL_OLD', then "
            "error.response['Item']) and report 'redelivery' when its Key and Sequencer are this event's"
        )
    if status == "redelivery" and "same name" in what:
        return (
            f"{told}. A file re-sent under the same name is a new upload with a new sequencer: compare the "
            "holder's Sequencer too, not only its Key"
        )
    if status == "redelivery":
        return (
            f"{told}. Another upload holds the record (another Key): only the same Key and Sequencer make a redelivery"
        )
    return f"{told}; statuses in order were {statuses}"


def _remove(ctx: Context, keys: list[str], digest: str) -> None:
    s3 = ctx.client("s3")
    # Lab 3's digester moves files on from incoming: clean up wherever they went.
    for purpose in ("incoming", "in-progress", "error"):
        for key in keys:
            s3.delete_object(Bucket=ctx.names.bucket(purpose), Key=key)
    for key in keys:
        s3.delete_object(Bucket=ctx.names.bucket("processed"), Key=f"summaries/{key}.json")
    ctx.client("dynamodb").delete_item(TableName=ctx.names.table(TABLE), Key={KEY_ATTRIBUTE: {"S": digest}})


# ---- check your understanding: notebook 02 asks 2.q1-2.q2, the lab 2.q3-2.q5 ----------------

WALKTHROUGH = "notebooks/02_idempotency.ipynb"

question(
    "2.q1",
    "What a redelivery carries",
    asked_in=WALKTHROUGH,
    answer="c",
    why={
        "a": "a redelivery repeats the event, sequencer included; a new sequencer means a new upload of the key",
        "b": "S3's event records have no such field: a redelivery looks exactly like the first delivery, which is why "
        "the handler compares it with what it recorded",
        "c": "the second delivery is the same event, so it carries the same key and sequencer, which the record "
        "stored; a re-sent file is another upload, with a sequencer of its own",
    },
    hints=("Is a redelivery a new event, or the same event sent again? What does the same event repeat?",),
)

question(
    "2.q2",
    "Powertools and a re-sent file",
    asked_in=WALKTHROUGH,
    answer="b",
    why={
        "a": "Powertools hashes the event (or the part of it you choose), not the file's bytes; another name and "
        "another sequencer make another event",
        "b": "a re-sent file is another event, so @idempotent runs the handler; only a key on the content, such as "
        "the pipeline's ContentHash, catches it",
        "c": "that error is for the same event arriving while its first run is still in progress, not for another event",
    },
    hints=("What does Powertools hash by default: the file, or the event?",),
)

question(
    "2.q3",
    "Redelivery or duplicate",
    asked_in=f"solutions/{SOLUTION}",
    answer="c",
    why={
        "a": "a redelivery repeats the sequencer as well as the key; a new sequencer under the same key is a new upload",
        "b": "the table is keyed by ContentHash alone: the hash is there, so the conditional write is refused whatever "
        "the sequencer",
        "c": "the same bytes came back in another upload (same name, new sequencer): the business duplicate, to reject",
    },
    hints=("Compare both fields with the record: which one differs, and what does a new one mean?",),
)

question(
    "2.q4",
    "Why a conditional write",
    asked_in=f"solutions/{SOLUTION}",
    answer="a",
    why={
        "a": "between a read and a write, another delivery can read 'nothing' too, and both write and both report "
        "'new'; a condition expression makes the check and the write one atomic request",
        "b": "the extra request is the smaller problem: in the time between the read and the write another delivery "
        "can do the same, and both count the file as new",
        "c": "without a condition, put_item silently replaces an item with the same key; "
        "attribute_not_exists(ContentHash) is what makes it refuse",
    },
    hints=("Two deliveries of one upload run at the same moment. What can happen between a get_item and a put_item?",),
)

question(
    "2.q5",
    "What ALL_OLD returns",
    asked_in=f"solutions/{SOLUTION}",
    answer="a",
    why={
        "a": "with ALL_OLD, a write refused by its condition returns the item that refused it, typed, in the error's "
        "response['Item'], consuming no read capacity: who holds the content, in the same request",
        "b": "a refused conditional write changes nothing; the item returned is the one that was already there",
        "c": "that is the default (NONE); with ALL_OLD the holder comes back with the error, and a separate get_item "
        "would cost another request and might see a later state",
    },
    hints=("Was the refused write applied? Then whose item can come back?",),
)
