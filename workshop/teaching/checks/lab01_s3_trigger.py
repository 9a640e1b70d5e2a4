"""Lab 1, the S3 trigger: the incoming bucket's notification and the digester's key decoding."""

from __future__ import annotations

from botocore.exceptions import ClientError

from workshop.teaching.checks.support import (
    describe_error,
    error_code,
    invoke_raw,
    require_function,
    require_handler_attempted,
    s3_put_event,
)
from workshop.teaching.grading import Context, Incorrect, NotAttempted, exercise, question

SOLUTION = "01_s3_trigger.ipynb"
DIGESTER = "digester"
HANDLER_FILE = "handlers/digester.py"
PREFIX, SUFFIX = "orders/", ".csv"
CREATED_EVENTS = {"s3:ObjectCreated:*"}
# A key outside orders/ (so the real notification does not fire) that decoding must get right.
CHECK_KEY = "checks/2026 11/étude+1 100%.csv"


def _digester_configurations(ctx: Context) -> tuple[str, list[dict], list[dict]]:
    """The incoming bucket, its Lambda notifications for the digester, and all of them."""
    incoming = ctx.names.bucket("incoming")
    configuration = ctx.client("s3").get_bucket_notification_configuration(Bucket=incoming)
    lambdas = configuration.get("LambdaFunctionConfigurations", [])
    name = ctx.names.function(DIGESTER)
    mine = [c for c in lambdas if c["LambdaFunctionArn"].split(":function:")[-1].split(":")[0] == name]
    return incoming, mine, lambdas


@exercise(
    "1.2",
    "Notify the digester of new orders",
    solution=SOLUTION,
    hints=(
        "`s3.put_bucket_notification_configuration` takes the whole configuration of the bucket; the part you "
        "need is one entry of 'LambdaFunctionConfigurations'.",
        "The entry needs 'LambdaFunctionArn' (digester_arn), 'Events' and a 'Filter' with 'FilterRules' for the "
        "prefix and the suffix.",
        "Events=['s3:ObjectCreated:*'] (multipart uploads are created too), FilterRules=[{'Name': 'prefix', "
        "'Value': 'orders/'}, {'Name': 'suffix', 'Value': '.csv'}].",
    ),
)
def notification(ctx: Context) -> str:
    incoming, mine, lambdas = _digester_configurations(ctx)
    name = ctx.names.function(DIGESTER)
    if not mine:
        if lambdas:
            targets = ", ".join(c["LambdaFunctionArn"].split(":")[-1] for c in lambdas)
            raise Incorrect(f"{incoming} notifies {targets}, not {name}")
        raise NotAttempted(f"{incoming} has no notification for {name} yet")
    if len(mine) > 1:
        raise Incorrect(
            f"{incoming} notifies {name} {len(mine)} times; each upload would run it {len(mine)} times: keep one entry"
        )
    entry = mine[0]
    events = set(entry.get("Events", []))
    if not events & (CREATED_EVENTS | {"s3:ObjectCreated:Put"}):
        raise Incorrect(
            f"the notification of {incoming} for {name} is on {sorted(events)}; a new order file is "
            "an s3:ObjectCreated event"
        )
    if events != CREATED_EVENTS:
        raise Incorrect(
            f"the notification of {incoming} for {name} is on {sorted(events)}: use "
            "s3:ObjectCreated:* so copies and multipart uploads (large files, aws s3 cp) count too, "
            "and nothing else"
        )
    rules = {r["Name"].lower(): r["Value"] for r in entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
    if rules.get("prefix") != PREFIX:
        found = f"prefix {rules['prefix']!r}" if "prefix" in rules else "no prefix filter"
        raise Incorrect(f"the notification of {incoming} for {name} has {found}; only keys under {PREFIX!r} are orders")
    if rules.get("suffix") != SUFFIX:
        found = f"suffix {rules['suffix']!r}" if "suffix" in rules else "no suffix filter"
        raise Incorrect(
            f"the notification of {incoming} for {name} has {found}; this step handles {SUFFIX!r} files only"
        )
    return f"{incoming} sends s3:ObjectCreated:* of {PREFIX}*{SUFFIX} to {name}"


@exercise(
    "1.1",
    "Decode the object key",
    solution=SOLUTION,
    hints=(
        "Print `record['s3']['object']['key']` for the file 'orders/2026 11/étude+1.csv': it is not the key you "
        "uploaded.",
        "Keys in S3 events are form-URL-encoded, like a web form: a space arrives as '+', a '+' as '%2B', "
        "'é' as '%C3%A9'.",
        "`urllib.parse.unquote_plus(record['s3']['object']['key'])` undoes it (plain `unquote` leaves '+' "
        "instead of spaces).",
    ),
)
def key_decoding(ctx: Context) -> str:
    require_handler_attempted(ctx, HANDLER_FILE)
    configuration = require_function(ctx, DIGESTER)
    name = configuration["FunctionName"]
    incoming = ctx.names.bucket("incoming")
    s3 = ctx.client("s3")
    body = b"order_id,customer,product,quantity,unit_price\n1,ana,mug,1,8.50\n"
    s3.put_object(Bucket=incoming, Key=CHECK_KEY, Body=body, ContentType="text/csv")
    event = s3_put_event(ctx, incoming, CHECK_KEY, len(body), "1.1")
    encoded = event["Records"][0]["s3"]["object"]["key"]
    try:
        result, error = invoke_raw(ctx, DIGESTER, event)
    finally:
        try:
            s3.delete_object(Bucket=incoming, Key=CHECK_KEY)
        except ClientError as error:  # the check's own file; never let cleanup hide the verdict
            if error_code(error) not in ("404", "NoSuchKey"):
                raise
    if error is not None:
        if any(word in str(error.get("errorMessage", "")) for word in ("404", "Not Found", "NoSuchKey")):
            raise Incorrect(
                f"{name} could not find the object {CHECK_KEY!r}, which the event names as "
                f"{encoded!r}: decode the key with urllib.parse.unquote_plus"
            )
        raise Incorrect(describe_error(ctx, DIGESTER, error))
    received = (result or {}).get("received") if isinstance(result, dict) else None
    if not received:
        raise Incorrect(f"{name} returned {result!r}; it should return {{'received': [{{'key': ..., 'size': ...}}]}}")
    key = received[0].get("key")
    if key != CHECK_KEY:
        plus = " ('+' means a space: use unquote_plus, not unquote)" if key == CHECK_KEY.replace(" ", "+") else ""
        raise Incorrect(f"{name} says the key is {key!r}; the object is {CHECK_KEY!r}{plus}")
    if received[0].get("size") != len(body):
        raise Incorrect(f"{name} says the size is {received[0].get('size')!r}; the object has {len(body)} bytes")
    return f"{name} decodes {encoded!r} back to {CHECK_KEY!r}"


# ---- check your understanding: notebook 01 asks 1.q1-1.q2, the lab 1.q3-1.q4 ----------------

WALKTHROUGH = "notebooks/01_s3_trigger.ipynb"

question(
    "1.q1",
    "The key in an S3 event",
    asked_in=WALKTHROUGH,
    answer="a",
    why={
        "a": "the key is form-URL-encoded: a space becomes '+', a '+' becomes '%2B' and 'é' its UTF-8 bytes '%C3%A9'; "
        "unquote_plus gives the real key back",
        "b": "S3 puts the key in the event form-URL-encoded, so spaces, '+' and non-ASCII letters arrive changed; "
        "used as it is, it names an object that does not exist",
        "c": "that is path-style encoding (a space as '%20', '+' left as it is); S3 uses form encoding, where a space "
        "is '+' and a real '+' must become '%2B', which is why unquote_plus, not unquote, decodes it",
    },
    hints=("In form encoding, what does a space become, and what must a real '+' become then?",),
)

question(
    "1.q2",
    "Permission before notification",
    asked_in=WALKTHROUGH,
    answer="c",
    why={
        "a": "S3 checks the function's resource policy when you save the configuration, and refuses a Lambda target "
        "that does not let S3 invoke it: nothing is saved",
        "b": "S3 never edits a function's resource policy; AddPermission, called by someone allowed to manage the "
        "function, does",
        "c": "before saving the configuration, S3 verifies that the function's resource policy lets S3 invoke it; "
        "without the AddPermission statement the call is refused",
    },
    hints=("When does S3 look at the function's permissions: at each upload, or when you save the notification?",),
)

question(
    "1.q3",
    "A key used as it arrives",
    asked_in=f"solutions/{SOLUTION}",
    answer="b",
    why={
        "a": "boto3 sends the key you give it, character for character: 'orders/2026+11/%C3%A9tude%2B1.csv' is another "
        "key, and no object has it",
        "b": "S3 is asked for 'orders/2026+11/%C3%A9tude%2B1.csv', which does not exist: HeadObject answers 404, the "
        "invocation fails, and Lambda's retries of the same event (two by default) fail the same way",
        "c": "a key is a plain string: '+', '%2B' and a space are different characters, and S3 matches keys exactly",
    },
    hints=("Which key does S3 look up: the one uploaded, or the characters the handler sends?",),
)

question(
    "1.q4",
    "Which uploads run the digester",
    asked_in=f"solutions/{SOLUTION}",
    answer="c",
    why={
        "a": "s3:ObjectCreated:* covers every way an object is created: Put, Post, Copy and CompleteMultipartUpload",
        "b": "a prefix filter matches the start of the key only: 'archive/orders/old.csv' starts with 'archive/'",
        "c": "s3:ObjectCreated:* covers Put, Post, Copy and CompleteMultipartUpload, and the filters keep it to keys "
        "that start with 'orders/' and end with '.csv'",
    },
    hints=("What does the '*' in s3:ObjectCreated:* stand for, and where in a key does a prefix sit?",),
)
