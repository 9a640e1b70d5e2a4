"""Lab 0, first steps: a bucket of your own, a typed CSV object, a first handler."""

from __future__ import annotations

import csv
import io

from botocore.exceptions import ClientError

from workshop.core.naming import TAG_KEY
from workshop.teaching.checks.support import error_code, invoke, require_function, require_handler_attempted
from workshop.teaching.grading import Context, Incorrect, NotAttempted, exercise, question

SOLUTION = "00_first_steps.ipynb"
ORDERS_KEY = "orders/first.csv"
HANDLER_FILE = "handlers/count_orders.py"
COUNT_FUNCTION = "count-orders"

# The file the 0.3 check hands to the learner's handler: a quoted comma and an empty note
# on purpose, so that splitting lines by hand shows up as a wrong total.
CHECK_KEY = "checks/0.3-orders.csv"
CHECK_CSV = 'order_id,amount,note\n2001,10.00,\n2002,2.50,"gift, wrapped"\n2003,7.25,\n'
CHECK_EXPECTED = {"orders": 3, "total": 19.75}


def _scratch_bucket(ctx: Context) -> str | None:
    bucket = ctx.names.bucket("scratch")
    try:
        ctx.client("s3").head_bucket(Bucket=bucket)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchBucket"):
            return None
        raise
    return bucket


@exercise(
    "0.1",
    "A bucket of your own",
    solution=SOLUTION,
    hints=(
        "Bucket names come from `names`: `names.bucket('scratch')` is the one this exercise wants.",
        "`s3.create_bucket(Bucket=...)` creates it; `s3.put_bucket_tagging(...)` tags it. Outside us-east-1 "
        "create_bucket also needs CreateBucketConfiguration={'LocationConstraint': aws.region}.",
        "The tag set is a list of {'Key': ..., 'Value': ...} pairs; `names.tag` is the one pair you need as a dict: "
        f"{{'{TAG_KEY}': <your prefix>}}.",
    ),
)
def scratch_bucket(ctx: Context) -> str:
    bucket = _scratch_bucket(ctx)
    if bucket is None:
        raise NotAttempted(f"there is no bucket {ctx.names.bucket('scratch')} yet")
    try:
        tags = {t["Key"]: t["Value"] for t in ctx.client("s3").get_bucket_tagging(Bucket=bucket)["TagSet"]}
    except ClientError as error:
        if error_code(error) != "NoSuchTagSet":
            raise
        tags = {}
    if TAG_KEY not in tags:
        raise Incorrect(
            f"{bucket} exists but has no {TAG_KEY} tag, so teardown would never find it: "
            f"tag it with {TAG_KEY}={ctx.names.prefix}"
        )
    if tags[TAG_KEY] != ctx.names.prefix:
        raise Incorrect(f"{bucket} is tagged {TAG_KEY}={tags[TAG_KEY]}, but your prefix is {ctx.names.prefix}")
    return f"{bucket} exists and is tagged {TAG_KEY}={ctx.names.prefix}"


@exercise(
    "0.2",
    "A CSV object with its type",
    solution=SOLUTION,
    hints=(
        f"One `s3.put_object` call writes the object: bucket `scratch`, key '{ORDERS_KEY}', body `orders_csv`.",
        "S3 stores whatever Content-Type you send, and assumes binary/octet-stream when you send none.",
        "Pass `ContentType='text/csv'` and the body as bytes: `orders_csv.encode()`.",
    ),
)
def typed_csv(ctx: Context) -> str:
    bucket = _scratch_bucket(ctx)
    if bucket is None:
        raise NotAttempted(f"there is no bucket {ctx.names.bucket('scratch')} to upload to (exercise 0.1)")
    s3 = ctx.client("s3")
    try:
        head = s3.head_object(Bucket=bucket, Key=ORDERS_KEY)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchKey"):
            raise NotAttempted(f"there is no object {ORDERS_KEY} in {bucket} yet") from None
        raise
    content_type = head.get("ContentType", "")
    if content_type.split(";")[0].strip() != "text/csv":
        raise Incorrect(
            f"{ORDERS_KEY} in {bucket} has ContentType {content_type!r}; upload it with ContentType='text/csv'"
        )
    text = s3.get_object(Bucket=bucket, Key=ORDERS_KEY)["Body"].read().decode("utf-8", errors="replace")
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or set(rows[0]) != {"order_id", "amount"}:
        raise Incorrect(
            f"{ORDERS_KEY} should hold the orders_csv text (a header order_id,amount and its rows); "
            f"it starts with {text[:40]!r}"
        )
    return f"{ORDERS_KEY} in {bucket} is text/csv with {len(rows)} orders"


@exercise(
    "0.3",
    "A handler that counts orders",
    solution=SOLUTION,
    hints=(
        "The handler already reads the object into `body`; what is left is to count the orders and add up amounts.",
        "`csv.DictReader(io.StringIO(body))` gives one dict per data row and skips the header for you.",
        "Return a dict: {'orders': len(rows), 'total': round(sum(float(r['amount']) for r in rows), 2)}; "
        "then run the deploy cell again so the function gets the new code.",
    ),
)
def counting_handler(ctx: Context) -> str:
    source = require_handler_attempted(ctx, HANDLER_FILE)
    name = ctx.names.function(COUNT_FUNCTION)
    require_function(ctx, COUNT_FUNCTION)
    bucket = _scratch_bucket(ctx)
    if bucket is None:
        raise Incorrect(
            f"{name} reads from the bucket of exercise 0.1, {ctx.names.bucket('scratch')}, which does not exist yet"
        )
    s3 = ctx.client("s3")
    s3.put_object(Bucket=bucket, Key=CHECK_KEY, Body=CHECK_CSV.encode(), ContentType="text/csv")
    try:
        result = invoke(ctx, COUNT_FUNCTION, {"bucket": bucket, "key": CHECK_KEY})
    finally:
        s3.delete_object(Bucket=bucket, Key=CHECK_KEY)
    if result is None:
        redeploy = " (if you edited the handler, run the deploy cell again)" if source is not None else ""
        raise Incorrect(
            f"{name} returned null for a file of 3 orders; it should return {{'orders': ..., 'total': ...}}{redeploy}"
        )
    if not isinstance(result, dict) or not {"orders", "total"} <= set(result):
        raise Incorrect(f"{name} returned {result!r}; it should return a dict with 'orders' and 'total'")
    if result["orders"] == CHECK_EXPECTED["orders"] + 1:
        raise Incorrect(
            f"{name} counted {result['orders']} orders in a file of 3 orders and a header line: "
            "the header is not an order"
        )
    if result["orders"] != CHECK_EXPECTED["orders"]:
        raise Incorrect(f"{name} counted {result['orders']} orders in a file of 3 orders")
    try:
        total = float(result["total"])
    except (TypeError, ValueError):
        raise Incorrect(f"{name} returned total {result['total']!r}; it should be a number") from None
    if abs(total - CHECK_EXPECTED["total"]) > 0.005:
        raise Incorrect(
            f"{name} returned total {result['total']!r} for amounts 10.00 + 2.50 + 7.25; "
            f"expected {CHECK_EXPECTED['total']}"
        )
    return f"{name} counted 3 orders totalling {CHECK_EXPECTED['total']} in a test file"


# ---- check your understanding: notebook 00 asks 0.q1-0.q2, the lab 0.q3-0.q5 ----------------

WALKTHROUGH = "notebooks/00_getting_started.ipynb"

question(
    "0.q1",
    "What makes a resource yours",
    asked_in=WALKTHROUGH,
    answer="c",
    why={
        "a": "the name alone is not enough: teardown deletes only what carries your prefix and your workshop:env tag, "
        "so an untagged bucket is left alone",
        "b": "teardown never adopts a resource: it changes nothing that it did not find tagged, so the bucket stays",
        "c": "teardown deletes only what has both your prefix and your tag, so an untagged bucket outlives the workshop "
        "(and keeps costing on a real account) until you tag it or delete it yourself",
    },
    hints=("Teardown looks for two marks on a resource. How many does this bucket carry?",),
)

question(
    "0.q2",
    "What polling costs",
    asked_in=WALKTHROUGH,
    answer="a",
    why={
        "a": "a day holds 288 five-minute runs; each empty one is still a billed LIST request and a wake-up, and a file "
        "that lands just after a run waits for the next one",
        "b": "S3 typically delivers an event notification within seconds, sometimes a minute or longer, with no "
        "promised bound: events save the polling, not every second",
        "c": "S3 charges every LIST request, whether it finds anything or not, and the job runs (and costs) each time",
    },
    hints=("How many 5-minute runs fit in a day, and how many of them find the one file?",),
)

question(
    "0.q3",
    "Setting an object's type",
    asked_in=f"solutions/{SOLUTION}",
    answer="b",
    why={
        "a": "tags are labels kept beside the object (for access rules, lifecycle and cost reports); the Content-Type "
        "S3 serves is the object's metadata, which a tag does not change",
        "b": "an object's metadata cannot be changed after it is written: a new write, a copy onto itself with "
        "MetadataDirective='REPLACE' included, is the way to set it",
        "c": "S3 does not guess from the key: it keeps the Content-Type the upload sent, so set it when you write",
    },
    hints=("Can an object's metadata be edited in place, or only written with the object?",),
)

question(
    "0.q4",
    "When new code runs",
    asked_in=f"solutions/{SOLUTION}",
    answer="c",
    why={
        "a": "the function runs the zip it was given when it was deployed; Lambda never sees your notebook's folder",
        "b": "a fresh execution environment loads the same deployed package; only a new deployment changes the code",
        "c": "Lambda runs the package it was last given; saving the file changes nothing until a deploy sends the new "
        "one (UpdateFunctionCode, which the deploy cell calls)",
    },
    hints=("Where does Lambda get the code it runs: from your folder, or from what you sent it?",),
)

question(
    "0.q5",
    "A client outside the handler",
    asked_in=f"solutions/{SOLUTION}",
    answer="b",
    why={
        "a": "the module runs once per execution environment, in its init phase; later invocations in that "
        "environment call handler only",
        "b": "code outside the handler runs when the execution environment starts, and Lambda reuses the environment "
        "for later invocations, which skip making the client again",
        "c": "a standard function's execution environment serves one invocation at a time; concurrent invocations run "
        "in other environments, each with its own copy of the module and its client",
    },
    hints=("How often does the code at the top of the file run: per invocation, or per execution environment?",),
)
