"""Lab 6, stream criteria to a FIFO queue: the 9 → 10 transition, the mapping's filter, the FIFO send."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from typing import Any

from workshop.aws import filter_patterns
from workshop.teaching.checks.support import (
    describe_error,
    describe_table,
    invoke_raw,
    mappings_of,
    require_function,
    require_handler_attempted,
    stream_event,
)
from workshop.teaching.grading import Context, Faults, Incorrect, NotAttempted, exercise, question

SOLUTION = "06_stream_to_fifo.ipynb"
TABLE, TRIGGER, QUEUE = "PlayerPlacements", "placement-trigger", "placement-jobs"
HANDLER_FILE = "handlers/placement_trigger.py"


def _item(player: str, games: int, **extra: Any) -> dict[str, Any]:
    return {
        "PlayerName": player,
        "Games": [Decimal(100 + n) for n in range(games)],
        "GameCount": Decimal(games),
        **extra,
    }


def _change(player: str, before: int | None, after: int, **extra: Any) -> tuple:
    """A stream change of the player's item from ``before`` games (None: a new item) to ``after``."""
    return (
        "INSERT" if before is None else "MODIFY",
        {"PlayerName": player},
        _item(player, after, **extra),
        None if before is None else _item(player, before),
    )


def _stream(ctx: Context) -> str:
    table = describe_table(ctx, TABLE)
    if table is None or not table.get("LatestStreamArn"):
        raise NotAttempted(f"{ctx.names.table(TABLE)} and its stream are made by the lab's first cell: run it")
    return table["LatestStreamArn"]


def _queue_url(ctx: Context) -> str:
    sqs = ctx.client("sqs")
    try:
        return sqs.get_queue_url(QueueName=ctx.names.queue(QUEUE, fifo=True))["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        raise NotAttempted(f"there is no queue {ctx.names.queue(QUEUE, fifo=True)}: run the lab's first cell") from None


def _take_group(ctx: Context, url: str, group: str, settle: float = 1.0) -> list[dict[str, Any]]:
    """Remove the check's own messages (its message group) from the learner's queue; every
    other message is made visible again at once, so the learner loses nothing."""
    sqs = ctx.client("sqs")
    taken, others = [], []
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, AttributeNames=["MessageGroupId"]
        ).get("Messages", [])
        for message in messages:
            body = message["Body"]
            if message["Attributes"].get("MessageGroupId") == group or group in body:
                taken.append(message)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                others.append(message)
        if not messages:
            time.sleep(0.1)
    for message in others:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return taken


def _invoke(ctx: Context, event: dict[str, Any]) -> list[str]:
    """The players the learner's trigger started a job for, from what it returned."""
    result, error = invoke_raw(ctx, TRIGGER, event)
    if error is not None:
        raise Incorrect(describe_error(ctx, TRIGGER, error))
    return list((result or {}).get("jobs") or [])


@exercise(
    "6.1",
    "React to the 9 → 10 change only",
    solution=SOLUTION,
    hints=(
        "old and new are the item before and after the change. What is true of Games only for the change that makes "
        "it reach ten entries?",
        "len(new.get('Games', [])) == 10 alone is also true when another attribute of a player with ten games "
        "changes; len(...) >= 10 is true for the 11th game too. Look at the old image as well.",
        "return len(old.get('Games', [])) == PLACEMENT_GAMES - 1 and len(new.get('Games', [])) == PLACEMENT_GAMES",
    ),
)
def transition(ctx: Context) -> str:
    require_handler_attempted(ctx, HANDLER_FILE, prompt_about="Games")
    require_function(ctx, TRIGGER)
    stream, url = _stream(ctx), _queue_url(ctx)
    player = f"check-{uuid.uuid4().hex[:8]}"
    changes = {
        "the first game (an INSERT)": _change(player, None, 1),
        "the 9th game": _change(player, 8, 9),
        "the 10th game": _change(player, 9, 10),
        "the 11th game": _change(player, 10, 11),
        "a change of another attribute at 10 games": _change(player, 10, 10, LastSeen="today"),
    }
    fired = []
    try:
        for what, change in changes.items():
            if _invoke(ctx, stream_event(stream, [change])):
                fired.append(what)
    finally:
        _take_group(ctx, url, player, settle=0.3)
    name = ctx.names.function(TRIGGER)
    if fired == ["the 10th game"]:
        return f"{name} starts a job on the 9 → 10 change, and on no other"
    if "the 10th game" not in fired:
        raise Incorrect(
            f"{name} started no job on the change from 9 to 10 games"
            + (f"; it did on {', '.join(fired)}" if fired else "")
        )
    raise Incorrect(
        f"{name} also starts a job on {', '.join(w for w in fired if w != 'the 10th game')}: compare "
        "the old image with the new one, so only the 9 → 10 change counts"
    )


def _trigger_mapping(ctx: Context) -> dict[str, Any]:
    found = mappings_of(ctx, _stream(ctx), TRIGGER)
    if not found:
        raise NotAttempted(f"no mapping feeds {ctx.names.function(TRIGGER)}: run the cell that deploys it")
    return ctx.client("lambda").get_event_source_mapping(UUID=found[0]["UUID"])


@exercise(
    "6.2",
    "Let the mapping filter instead",
    solution=SOLUTION,
    hints=(
        "A filter pattern has the shape of the record it matches: eventName at the top, the images under 'dynamodb'.",
        "Values in stream images are typed: GameCount looks like {'N': '9'}, so the pattern says {'GameCount': {'N': "
        "['9']}} (a list of allowed values, as strings).",
        "placement_only = {'eventName': ['MODIFY'], 'dynamodb': {'OldImage': {'GameCount': {'N': ['9']}}, "
        "'NewImage': {'GameCount': {'N': ['10']}}}}",
    ),
)
def filter_criteria(ctx: Context) -> str:
    mapping = _trigger_mapping(ctx)
    criteria = mapping.get("FilterCriteria") or {}
    if not criteria.get("Filters"):
        raise NotAttempted(
            "the mapping has no FilterCriteria yet, so every change of every player invokes "
            f"{ctx.names.function(TRIGGER)}"
        )
    patterns = filter_patterns.parse_filter_criteria(criteria)
    stream = mapping["EventSourceArn"]
    player = "filter-check"
    records = {
        what: stream_event(stream, [change])["Records"][0]
        for what, change in {
            "the 10th game": _change(player, 9, 10),
            "the first game": _change(player, None, 1),
            "the 9th game": _change(player, 8, 9),
            "the 11th game": _change(player, 10, 11),
            "a change of another attribute at 10 games": _change(player, 10, 10, LastSeen="today"),
        }.items()
    }
    passing = [what for what, record in records.items() if filter_patterns.record_passes(patterns, "dynamodb", record)]
    shown = criteria["Filters"][0]["Pattern"]
    if "the 10th game" not in passing:
        raise Incorrect(
            f"the filter {shown} drops the change from 9 to 10 games, so no job would ever start "
            "(numbers in images are strings: {'N': ['9']})"
        )
    if passing != ["the 10th game"]:
        raise Incorrect(f"the filter {shown} also lets through {', '.join(passing[1:])}")
    return "the mapping hands the trigger only the change from 9 to 10 games"


@exercise(
    "6.3",
    "Send the job to the FIFO queue",
    solution=SOLUTION,
    hints=(
        "send_message to a FIFO queue needs two more parameters than to a standard queue.",
        "MessageGroupId decides what is ordered together (and worked one at a time): here, one group per player. "
        "MessageDeduplicationId decides what counts as the same message.",
        "sqs.send_message(QueueUrl=os.environ['QUEUE_URL'], MessageBody=body, MessageGroupId=player, "
        "MessageDeduplicationId=f'{player}-placement')",
    ),
)
def fifo_send(ctx: Context) -> str:
    require_handler_attempted(ctx, HANDLER_FILE, prompt_about="FIFO")
    require_function(ctx, TRIGGER)
    stream, url = _stream(ctx), _queue_url(ctx)
    player = f"check-{uuid.uuid4().hex[:8]}"
    event = stream_event(stream, [_change(player, 9, 10)])
    try:
        first = _invoke(ctx, event)
        _invoke(ctx, event)  # the same batch again, as a retry delivers it
    except Incorrect:
        _take_group(ctx, url, player, settle=0.3)
        raise
    taken = _take_group(ctx, url, player)
    name = ctx.names.function(TRIGGER)
    if not first:
        raise Incorrect(f"{name} sent no job for the change from 9 to 10 games (exercise 6.1 first)")
    if not taken:
        raise Incorrect(f"{name} reported a job, but none arrived in {ctx.names.queue(QUEUE, fifo=True)}")
    faults = Faults()  # the group, the deduplication id and the body are three settings of one send
    groups = {m["Attributes"].get("MessageGroupId") for m in taken}
    if groups != {player}:
        faults.add(
            f"the job went to message group {sorted(groups)}; use one group per player (MessageGroupId=player), "
            "so one player's jobs stay in order without holding up the others",
            hint="MessageGroupId=player",
        )
    if len(taken) > 1:
        faults.add(
            f"the same placement, sent twice (a retried batch), arrived {len(taken)} times: the deduplication "
            "id must be the same for the same player's placement, not random or a time",
            hint="MessageDeduplicationId=f'{player}-placement': the same text every time this placement is sent",
        )
    body = json.loads(taken[0]["Body"])
    if body.get("player") != player or len(body.get("placement_games", [])) != 10:
        faults.add(
            f"the job's body is {taken[0]['Body'][:200]}; send the body send_job builds",
            hint="MessageBody=body, the JSON send_job builds",
        )
    faults.raise_any()
    return f"{name} sends one job per placement to the FIFO queue, grouped by player, deduplicated"


# ---- check your understanding ---------------------------------------------------------------

WALKTHROUGH = "notebooks/06_stream_to_fifo.ipynb"

question(
    "6.q1",
    "A state or a transition",
    asked_in=WALKTHROUGH,
    answer="c",
    why={
        "a": "'ten or more' stays true after the tenth order: the 11th order, the 12th, and any other change of a "
        "customer with ten orders would pass it too.",
        "b": "the tenth order does pass 'ten or more' — the problem is that every later change passes it as well.",
        "c": "the test holds for every change of a customer who has ten orders or more, so a voucher job starts "
        "again and again; only 'nine before, ten after' is the one change.",
    },
    hints=("Is 'ten or more' true once, or from the tenth order on?",),
)

question(
    "6.q2",
    "A record no filter matches",
    asked_in=WALKTHROUGH,
    answer="a",
    why={
        "a": "for a stream, a record that matches none of the mapping's filters is discarded and the function is "
        "not invoked for it; it costs no invocation, and it does not come back later.",
        "b": "Lambda does not hand filtered-out records to the function at all, flagged or not: that is what saves the "
        "invocations.",
        "c": "the mapping moves past it like past any other record: a filter never holds the stream back.",
    },
    hints=("Look at the counts: 36 changes, how many records handed to the handler with the filter?",),
)

question(
    "6.q3",
    "One group, two consumers",
    asked_in=f"solutions/{SOLUTION}",
    answer="b",
    why={
        "a": "a group's messages are held while any of them is in flight: the next message of ana's group waits until "
        "A deletes hers (or they become visible again), so order holds.",
        "b": "while A holds ana's messages in flight, no other receive gets that group; B gets messages of other "
        "groups, which go on in parallel.",
        "c": "only ana's group is held; other players' groups are handed out as usual, one group per consumer at a time.",
    },
    hints=("A FIFO queue orders messages per group: what must it avoid to keep ana's order with two consumers?",),
)

question(
    "6.q4",
    "A retry after the deduplication interval",
    asked_in=f"solutions/{SOLUTION}",
    answer="c",
    why={
        "a": "SQS remembers a deduplication id for five minutes only; ten minutes later the id is new again.",
        "b": "SQS never refuses a duplicate send: within the interval it accepts it and does not deliver it, after the "
        "interval it delivers it.",
        "c": "the deduplication interval is five minutes, so a send with the same id ten minutes later is "
        "accepted and queued: the rank worker must check for itself whether a player was already ranked.",
    },
    hints=("How long does a FIFO queue remember a deduplication id?",),
)
