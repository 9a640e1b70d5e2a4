"""Lab 9, the capstone: a channel added by configuration, and the proof that nothing was lost."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any

import pandas as pd

from workshop.lab_helpers import capstone
from workshop.teaching.grading import Context, Faults, Incorrect, NotAttempted, exercise, question

SOLUTION = "09_capstone.ipynb"
CHANNEL = "returns"
ARRIVAL_SECONDS = 20.0
# What the lab asks of the returns channel: its files' columns, the field that names a return, the one in whose
# order returns are handled. Of the columns, only order_id is a number in every returns file.
COLUMNS = ("return_id", "order_id", "customer", "reason")
ID_FIELD, GROUP_FIELD = "return_id", "customer"
MAY_BE_NUMERIC = {"order_id"}


def _configuration(ctx: Context) -> dict[str, str]:
    """The returns channel as deployed: its intake's and its enqueuer's environment variables."""
    lam, variables = ctx.client("lambda"), {}
    for part in ("intake", "enqueuer"):
        name = ctx.names.function(ctx.names.channel_purpose(CHANNEL, part))
        try:
            variables.update(
                lam.get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables", {})
            )
        except lam.exceptions.ResourceNotFoundException:
            pass
    return variables


def _configuration_faults(ctx: Context) -> Faults:
    """The learner's own entry, judged field by field: what each wrong value would do to returns."""
    deployed = _configuration(ctx)
    faults = Faults()
    id_field = deployed.get("ID_FIELD", "")
    if id_field != ID_FIELD:
        faults.add(
            f"the returns channel identifies a record by {id_field!r}; a return is named by return_id "
            + (
                "(two returns of the same order would be one record, the second overwriting the first)"
                if id_field == "order_id"
                else "(the one column no two returns share)"
            ),
            hint="id_field='return_id': the column that is different for every return",
        )
    group = deployed.get("GROUP_FIELD", "")
    if group != GROUP_FIELD:
        faults.add(
            f"the returns channel orders jobs per {group!r}; a customer's returns are handled in order, so the "
            "FIFO message group is the customer"
            + (" (one group per return orders nothing)" if group == ID_FIELD else ""),
            hint="group_field='customer': the FIFO message group, one per customer",
        )
    required = [f for f in deployed.get("REQUIRED", "").split(",") if f]
    missing, unknown = [c for c in COLUMNS if c not in required], [f for f in required if f not in COLUMNS]
    if missing:
        faults.add(
            f"the returns channel does not require {', '.join(missing)}: a returns file without "
            f"{'it' if len(missing) == 1 else 'them'} would be taken in, and its records passed on incomplete",
            hint=f"required={COLUMNS}: every column a return must have",
        )
    if unknown:
        faults.add(
            f"the returns channel requires {', '.join(unknown)}, which no returns file has: every returns file "
            "would be rejected",
            hint=f"required={COLUMNS}: the returns file's own columns",
        )
    numeric = [f for f in deployed.get("NUMERIC", "").split(",") if f and f not in MAY_BE_NUMERIC]
    if numeric:
        faults.add(
            f"the returns channel wants {', '.join(numeric)} to be a number, which it is not in a returns file: "
            "every file would be rejected",
            hint="leave numeric out (it defaults to none): a return has no field to compute with",
        )
    return faults


def _returns_deployed(ctx: Context) -> None:
    lam, intake = ctx.client("lambda"), ctx.names.function(ctx.names.channel_purpose(CHANNEL, "intake"))
    try:
        lam.get_function_configuration(FunctionName=intake)
        return
    except lam.exceptions.ResourceNotFoundException:
        pass
    start, end = ctx.names.function("cap-"), "-intake"
    others = sorted(
        f["FunctionName"][len(start) : -len(end)]
        for page in lam.get_paginator("list_functions").paginate()
        for f in page["Functions"]
        if f["FunctionName"].startswith(start) and f["FunctionName"].endswith(end)
    )
    others = [name for name in others if name != capstone.ORDERS.name]
    if others:
        raise Incorrect(
            f"there is a channel {others[0]!r} but no {CHANNEL!r}: a channel's name is the folder its "
            f"files arrive in, and returns arrive under {CHANNEL}/"
        )
    raise NotAttempted(
        f"there is no {intake} yet: add the returns channel to channels and run the cell that deploys them"
    )


def _output(ctx: Context, key: str) -> dict[str, Any] | None:
    s3 = ctx.client("s3")
    try:
        return s3.get_object(Bucket=ctx.names.bucket(capstone.OUTPUT), Key=key)
    except s3.exceptions.NoSuchKey:
        return None


def _stopped_at(ctx: Context, key: str, record_key: str) -> str:
    """Where a returns file that did not come out the other end stopped, in words."""
    row = capstone.ledger(ctx.aws, ctx.names, [key])[0]
    place = row["ended_in"]
    if place == "incoming":
        return (
            f"the file is still in {ctx.names.bucket(capstone.INCOMING)}: no notification sends "
            f"{CHANNEL}/ files to an intake (is the channel named {CHANNEL!r}, and did deploy run with it?)"
        )
    if place == "error":
        return (
            f"the intake rejected a good returns file ({row['reason']}): check the channel's id_field and required "
            "fields against the file's columns return_id, order_id, customer, reason"
        )
    item = (
        ctx.client("dynamodb")
        .get_item(TableName=ctx.names.table(capstone.RECORDS), Key={"RecordKey": {"S": record_key}})
        .get("Item")
    )
    if item is None:
        return f"the file was taken in, but its record {record_key} is not in {ctx.names.table(capstone.RECORDS)}"
    enqueuer = ctx.names.channel_purpose(CHANNEL, "enqueuer")
    failed = _last_failure(ctx, enqueuer)
    return f"the record reached {ctx.names.table(capstone.RECORDS)} but never came out of the worker" + (
        f"; {ctx.names.function(enqueuer)} failed: {failed}"
        if failed
        else " (is group_field a column of every returns record?)"
    )


def _last_failure(ctx: Context, purpose: str) -> str:
    """The first error line in a function's recent logs, where a failed invocation leaves it."""
    logs = ctx.client("logs")
    try:
        events = logs.filter_log_events(
            logGroupName=ctx.names.log_group(purpose), filterPattern="Error", startTime=int((time.time() - 300) * 1000)
        )["events"]
    except logs.exceptions.ResourceNotFoundException:
        return ""
    return next((e["message"].strip()[:200] for e in events if "Error" in e["message"]), "")


@exercise(
    "9.1",
    "Add a channel by configuration",
    solution=SOLUTION,
    hints=(
        "One more entry in channels, then the deploy cell again: capstone.deploy builds the whole chain for every entry.",
        "A returns file has the columns return_id, order_id, customer and reason; jobs are ordered per customer.",
        "channels.append(capstone.Channel('returns', id_field='return_id', group_field='customer', "
        "required=('return_id', 'order_id', 'customer', 'reason')))",
    ),
)
def new_channel(ctx: Context) -> str:
    _returns_deployed(ctx)
    _configuration_faults(ctx).raise_any()  # the learner's own entry first: it explains a file that goes astray
    run = uuid.uuid4().hex[:8]
    key, body = (
        f"{CHANNEL}/check-{run}.csv",
        f"return_id,order_id,customer,reason\ncheck-{run},1234,ana,late\n".encode(),
    )
    record_key, output_key = f"{CHANNEL}#check-{run}", f"{CHANNEL}/check-{run}.json"
    ctx.client("s3").put_object(Bucket=ctx.names.bucket(capstone.INCOMING), Key=key, Body=body)
    try:
        deadline = time.monotonic() + ARRIVAL_SECONDS
        while (found := _output(ctx, output_key)) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if found is None:
            raise Incorrect(
                f"a returns file uploaded to {ctx.names.bucket(capstone.INCOMING)}/{key} did not "
                f"reach {ctx.names.bucket(capstone.OUTPUT)} within {ARRIVAL_SECONDS:g} s: "
                + _stopped_at(ctx, key, record_key)
            )
    finally:
        _clean_up(ctx, key, body, record_key, output_key)
    return f"a returns file went through its own intake, stream, FIFO queue and worker to {output_key.split('/')[0]}/"


def _clean_up(ctx: Context, key: str, body: bytes, record_key: str, output_key: str) -> None:
    """Take the check's own file, record and idempotency entry out of the learner's pipeline."""
    s3 = ctx.client("s3")
    for purpose, name in (
        (capstone.INCOMING, key),
        (capstone.ARCHIVE, key),
        (capstone.ERROR, key),
        (capstone.OUTPUT, output_key),
    ):
        s3.delete_object(Bucket=ctx.names.bucket(purpose), Key=name)
    dynamodb = ctx.client("dynamodb")
    dynamodb.delete_item(TableName=ctx.names.table(capstone.RECORDS), Key={"RecordKey": {"S": record_key}})
    dynamodb.delete_item(
        TableName=ctx.names.table(capstone.DOCUMENTS), Key={"ContentHash": {"S": hashlib.sha256(body).hexdigest()}}
    )


# ---- 9.2 -----------------------------------------------------------------------------------


def _row(file: str, ended_in: str, records: int = 0, delivered: int = 0, dead: int = 0, reason: str = "") -> dict:
    return {
        "file": file,
        "channel": file.split("/", 1)[0],
        "ended_in": ended_in,
        "reason": reason,
        "records": records,
        "delivered": delivered,
        "dead_lettered": dead,
    }


# Each case: a ledger, and the files a correct `lost` names for it, with what the case teaches.
CASES: list[tuple[str, list[dict[str, Any]], set[str]]] = [
    (
        "everything accounted for",
        [_row("orders/a.csv", "archive", 3, 3), _row("orders/b.csv", "error", reason="zero bytes")],
        set(),
    ),
    (
        "a rejected file is accounted for: it is in the error bucket with its reason",
        [_row("orders/bad.csv", "error", reason="duplicate")],
        set(),
    ),
    (
        "a record in the dead-letter queue is accounted for: it waits there to be redriven",
        [_row("orders/c.csv", "archive", 2, 1, 1)],
        set(),
    ),
    (
        "a file still in incoming was never handled",
        [_row("orders/d.csv", "incoming"), _row("orders/e.csv", "archive", 1, 1)],
        {"orders/d.csv"},
    ),
    ("a file found nowhere is lost", [_row("orders/f.csv", "nowhere")], {"orders/f.csv"}),
    (
        "an archived file with a record neither delivered nor dead-lettered lost that record",
        [_row("orders/g.csv", "archive", 3, 2)],
        {"orders/g.csv"},
    ),
    (
        "an archived file none of whose records reached the table lost them all",
        [_row("returns/h.csv", "archive", 0, 0)],
        {"returns/h.csv"},
    ),
]


def _accounted_because(row: dict[str, Any]) -> str:
    if row["ended_in"] == "error":
        return f"a rejected file is accounted for: it is in the error bucket with its reason ({row['reason']})"
    if row["dead_lettered"]:
        return (
            "a record in the dead-letter queue is accounted for: it waits there to be redriven "
            f"({row['delivered']} delivered + {row['dead_lettered']} dead-lettered = {row['records']} records)"
        )
    return f"all its {row['records']} records were delivered"


def _names_in(answer: Any) -> set[str] | None:
    """The file names in what the learner's function returned: a list, a Series, or a DataFrame with a file column."""
    if answer is None:
        return None
    if isinstance(answer, pd.DataFrame):
        return set(answer["file"]) if "file" in answer.columns else None
    if isinstance(answer, pd.Series):
        return set(answer.tolist())
    if isinstance(answer, (list, tuple, set)):
        return set(answer)
    return None


@exercise(
    "9.2",
    "Prove that nothing was lost",
    solution=SOLUTION,
    hints=(
        "A file is accounted for in exactly two places: taken in (archive) or rejected with a reason (error).",
        "For a file taken in, every record must be delivered or waiting in the dead-letter queue: records == delivered + "
        "dead_lettered, and a file taken in has at least one record.",
        "taken = ledger['ended_in'] == 'archive'; bad = ~ledger['ended_in'].isin(['archive', 'error']) | (taken & "
        "((ledger['records'] == 0) | (ledger['delivered'] + ledger['dead_lettered'] != ledger['records']))); "
        "return list(ledger.loc[bad, 'file'])",
    ),
)
def conservation(ctx: Context) -> str:
    lost: Callable[[pd.DataFrame], Any] | None = ctx.namespace.get("lost")
    if not callable(lost):
        raise NotAttempted("there is no function lost(ledger) in this notebook yet: run the cell that defines it")
    for what, rows, expected in CASES:
        try:
            answer = lost(pd.DataFrame(rows))
        except Exception as error:  # the learner's code: say what broke, never a traceback
            raise Incorrect(f"lost() raised {type(error).__name__}: {error} for a ledger where {what}") from None
        if answer is None:
            raise NotAttempted("lost(ledger) returns nothing yet: replace its placeholder")
        named = _names_in(answer)
        if named is None:
            raise Incorrect(
                f"lost() returned {type(answer).__name__}; return the names of the files (a list, or "
                "the ledger's rows with their file column)"
            )
        if named != expected:
            extra, missing = sorted(named - expected), sorted(expected - named)
            if extra:
                row = next(r for r in rows if r["file"] == extra[0])
                raise Incorrect(f"lost() names {extra[0]}, but {_accounted_because(row)}")
            raise Incorrect(f"for a ledger where {what}, lost() misses {missing}")
    return f"lost() tells every lost file from every accounted one in {len(CASES)} ledgers"


# ---- check your understanding ---------------------------------------------------------------

WALKTHROUGH = "notebooks/09_capstone.ipynb"

question(
    "9.q1",
    "A third channel",
    asked_in=WALKTHROUGH,
    answer="b",
    why={
        "a": "a copy of the handlers is exactly what configuration avoids: two copies drift apart, and a fix made in one "
        "is missing in the other.",
        "b": "one more Channel entry; deploy builds its functions, queues, mappings and route from the same three "
        "handler files, and what differs travels in environment variables, a prefix and a filter.",
        "c": "the intake reads its channel's name, id field and required fields from its environment: it needs no "
        "change to take in a new kind of file.",
    },
    hints=("What did adding the stock channel change in workshop/lab_helpers/capstone/handlers/?",),
)

question(
    "9.q2",
    "Every channel's route in one call",
    asked_in=WALKTHROUGH,
    answer="a",
    why={
        "a": "PutBucketNotificationConfiguration replaces the bucket's whole notification configuration: a call with "
        "the new channel's route alone would remove the routes of every other channel.",
        "b": "S3 sets no such limit on notification configuration calls; the reason is what one call does to the "
        "configuration already there.",
        "c": "one call or several makes no difference to how fast events arrive; writing one route alone would remove "
        "the others.",
    },
    hints=("Does PutBucketNotificationConfiguration add a route to what is there, or set the whole configuration?",),
)

question(
    "9.q3",
    "A record in the dead-letter queue",
    asked_in=f"solutions/{SOLUTION}",
    answer="c",
    why={
        "a": "the record is not lost: it waits in the channel's dead-letter queue with its content, to be looked at and "
        "redriven once the fault is fixed.",
        "b": "the record is accounted for as long as it waits in the dead-letter queue: the work to do is a fix and a "
        "redrive before its retention period runs out, not a search for what was lost.",
        "c": "every record is delivered or parked where someone can find it: 2 delivered + 1 dead-lettered = 3 records, "
        "so the file is accounted for.",
    },
    hints=("Look at the rules of lost(): which places count as accounted for?",),
)

question(
    "9.q4",
    "Why group returns by customer",
    asked_in=f"solutions/{SOLUTION}",
    answer="a",
    why={
        "a": "the message group is the unit of order in a FIFO queue: one group per customer keeps each customer's "
        "returns in order, while different customers' returns are worked on in parallel.",
        "b": "return_id is unique: one group per return would keep no two returns in order, the opposite of what a "
        "customer's returns need.",
        "c": "a FIFO queue takes any group id the producer chooses; the choice decides what is ordered together.",
    },
    hints=("What does a FIFO queue keep in order: the whole queue, or each message group?",),
)
