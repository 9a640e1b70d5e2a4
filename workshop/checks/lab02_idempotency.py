"""Lab 2, the idempotency table: documents-received and the digester's conditional write."""

from __future__ import annotations

import hashlib
import uuid

from workshop.checks.support import (describe_error, describe_table, invoke_raw, require_function,
                                     require_handler_attempted, require_table_tagged_on_demand, s3_put_event)
from workshop.grading import Context, Incorrect, NotAttempted, exercise

SOLUTION = "02_idempotency.ipynb"
TABLE = "documents-received"
KEY_ATTRIBUTE = "ContentHash"
DIGESTER = "digester"
HANDLER_FILE = "handlers/digester.py"


@exercise("2.1", "The documents-received table", solution=SOLUTION, hints=(
    "What makes two files the same order file? Their content, not their name: the table's key is the hash "
    "of the content.",
    f"create_table needs TableName=names.table('{TABLE}'), KeySchema with one HASH key '{KEY_ATTRIBUTE}', its "
    "AttributeDefinitions (type 'S') and BillingMode='PAY_PER_REQUEST'.",
    "Tag it with Tags=[{'Key': 'workshop:env', 'Value': names.prefix}] and wait with the 'table_exists' waiter.",
))
def table_definition(ctx: Context) -> str:
    table = describe_table(ctx, TABLE)
    name = ctx.names.table(TABLE)
    if table is None:
        raise NotAttempted(f"there is no table {name} yet")
    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    if keys.get("HASH") != KEY_ATTRIBUTE:
        raise Incorrect(f"{name} is keyed by {keys.get('HASH')!r}; key it by {KEY_ATTRIBUTE!r}, the hash of the "
                        "content, so the same file under another name is recognised as a duplicate")
    if "RANGE" in keys:
        raise Incorrect(f"{name} has a range key {keys['RANGE']!r}: then only (hash, {keys['RANGE']}) pairs are "
                        "unique and the same content could be recorded twice; use the hash key alone")
    if types.get(KEY_ATTRIBUTE) != "S":
        raise Incorrect(f"{name}'s key {KEY_ATTRIBUTE} is of type {types.get(KEY_ATTRIBUTE)!r}; a hex digest is a "
                        "string, 'S'")
    require_table_tagged_on_demand(ctx, table)
    return f"{name} is keyed by {KEY_ATTRIBUTE} alone, on demand, tagged"


@exercise("2.2", "Record each file once, conditionally", solution=SOLUTION, hints=(
    "A plain put_item overwrites silently: the second delivery of a file looks new. DynamoDB can refuse the "
    "write instead when the item already exists.",
    f"put_item(..., ConditionExpression='attribute_not_exists({KEY_ATTRIBUTE})') fails with "
    "ConditionalCheckFailedException when the hash is already there.",
    "Catch `table.meta.client.exceptions.ConditionalCheckFailedException` (or a ClientError with that code) and "
    "set status = 'duplicate'; otherwise status = 'new'.",
))
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
    keys = ["checks/2.2 first.csv", "checks/2.2 same content, other name.csv"]
    statuses = []
    try:
        for key in keys:
            s3.put_object(Bucket=incoming, Key=key, Body=body, ContentType="text/csv")
            event = s3_put_event(ctx, incoming, key, len(body), "2.2")
            result, error = invoke_raw(ctx, DIGESTER, event)
            if error is not None:
                if "ConditionalCheckFailed" in f"{error.get('errorType')} {error.get('errorMessage')}":
                    raise Incorrect(f"{name} failed with ConditionalCheckFailedException on the second copy of a "
                                    "file: a duplicate is expected, not an error; catch it and report 'duplicate'")
                raise Incorrect(describe_error(ctx, DIGESTER, error))
            received = (result or {}).get("received") if isinstance(result, dict) else None
            if not received or "status" not in received[0]:
                raise Incorrect(f"{name} returned {result!r}; each received entry needs a 'status' "
                                "('new' or 'duplicate')")
            statuses.append(received[0]["status"])
        item = dynamodb.get_item(TableName=table, Key={KEY_ATTRIBUTE: {"S": digest}}).get("Item")
    finally:
        for key in keys:
            s3.delete_object(Bucket=incoming, Key=key)
        dynamodb.delete_item(TableName=table, Key={KEY_ATTRIBUTE: {"S": digest}})
    if statuses == ["new", "new"]:
        raise Incorrect(f"{name} accepted the same content twice (as {keys[0]!r} and {keys[1]!r}): a plain put "
                        f"overwrites; write with ConditionExpression='attribute_not_exists({KEY_ATTRIBUTE})'")
    if statuses != ["new", "duplicate"]:
        raise Incorrect(f"{name} reported {statuses} for a file and then its copy; expected ['new', 'duplicate']")
    if item is None:
        raise Incorrect(f"{name} reported the file as new but {table} has no item with {KEY_ATTRIBUTE} = the "
                        "SHA-256 hex digest of its content")
    return f"{name} records a file once in {table} and reports its copy as a duplicate"
