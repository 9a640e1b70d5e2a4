"""Lab 5, game scores: the tables, the aggregation, the stream mapping, exact under retries."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from workshop.teaching.checks.support import (
    describe_error,
    describe_table,
    invoke_raw,
    mappings_of,
    require_function,
    require_handler_attempted,
    stream_event,
    table_setting_faults,
)
from workshop.teaching.grading import Context, Fault, Faults, Incorrect, NotAttempted, exercise, question

SOLUTION = "05_game_scores.ipynb"
RECORDS, TOTALS = "GameScoreRecords", "GameScoresByUser"
AGGREGATOR = "score-aggregator"
NAIVE_FILE, SAFE_FILE = "handlers/aggregate_scores.py", "handlers/aggregate_scores_safe.py"


def _keys(table: dict[str, Any]) -> dict[str, str]:
    return {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}


def _key_faults(table: dict[str, Any], hash_key: str, range_key: str | None) -> list[Fault]:
    """What is wrong with a table's keys; a key cannot change, so each fault says to create the table again."""
    name, keys = table["TableName"], _keys(table)
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    again = (
        f"dynamodb.delete_table(TableName='{name}'), wait with the 'table_not_exists' waiter, then run the "
        "cell again: a table's keys never change"
    )
    if range_key and keys == {"HASH": hash_key}:
        return [
            Fault(
                f"{name} is keyed by {hash_key} alone: a player's second game would overwrite the first. Add "
                f"{range_key} as range key (keys cannot change: delete the table and create it again)",
                again,
            )
        ]
    if keys != {"HASH": hash_key, **({"RANGE": range_key} if range_key else {})}:
        wanted = f"{hash_key} (hash)" + (f" and {range_key} (range)" if range_key else " alone")
        return [Fault(f"{name} is keyed by {keys}; key it by {wanted} (delete the table and create it again)", again)]
    return [
        Fault(f"{name}'s key {attribute} is of type {types.get(attribute)!r}; it holds text, 'S'", again)
        for attribute in filter(None, (hash_key, range_key))
        if types.get(attribute) != "S"
    ]


@exercise(
    "5.1",
    "The tables",
    solution=SOLUTION,
    hints=(
        "A player plays many games: what must the key of GameScoreRecords be so that each game is its own item, and a "
        "player's games can be read together?",
        "GameScoreRecords: KeySchema [PlayerName HASH, RecordID RANGE] and StreamSpecification={'StreamEnabled': True, "
        "'StreamViewType': 'NEW_AND_OLD_IMAGES'}; GameScoresByUser: [PlayerName HASH]. Every key attribute in "
        "AttributeDefinitions with type 'S'.",
        "Both with BillingMode='PAY_PER_REQUEST', Tags=[{'Key': 'workshop:env', 'Value': names.prefix}], then "
        "dynamodb.get_waiter('table_exists').wait(TableName=...).",
    ),
)
def tables(ctx: Context) -> str:
    records, totals = describe_table(ctx, RECORDS), describe_table(ctx, TOTALS)
    if records is None and totals is None:
        raise NotAttempted(f"there is no table {ctx.names.table(RECORDS)} yet")
    for purpose, table in ((RECORDS, records), (TOTALS, totals)):
        if table is None:
            raise Incorrect(f"there is no table {ctx.names.table(purpose)} yet")
    faults = Faults()  # both tables' keys first (they mean a new table), then what can change in place
    faults.found += _key_faults(records, "PlayerName", "RecordID") + _key_faults(totals, "PlayerName", None)
    stream = records.get("StreamSpecification") or {}
    if not stream.get("StreamEnabled"):
        faults.add(
            f"{records['TableName']} has no stream, so nothing can react to new games: add "
            "StreamSpecification (update_table can switch it on)",
            hint="dynamodb.update_table(TableName=records_name, StreamSpecification={'StreamEnabled': True, "
            "'StreamViewType': 'NEW_AND_OLD_IMAGES'}})",
        )
    elif stream.get("StreamViewType") != "NEW_AND_OLD_IMAGES":
        faults.add(
            f"{records['TableName']}'s stream carries {stream.get('StreamViewType')}; the aggregator needs "
            "the new image and step 6 the old one too: NEW_AND_OLD_IMAGES",
            hint="a stream's view type cannot change: switch it off with update_table(StreamSpecification="
            "{'StreamEnabled': False}), then on again with 'NEW_AND_OLD_IMAGES'",
        )
    for table in (records, totals):
        faults.found += table_setting_faults(ctx, table)
    faults.raise_any()
    return (
        f"{records['TableName']} (PlayerName + RecordID, streaming new and old images) and "
        f"{totals['TableName']} (PlayerName), on demand, tagged"
    )


def _check_player() -> str:
    return f"check#{uuid.uuid4().hex[:8]}"


def _game(player: str, record_id: str, score: int, **extra: Any) -> dict[str, Any]:
    return {"PlayerName": player, "RecordID": record_id, "Score": Decimal(score), "Level": Decimal(3), **extra}


def _totals_after(ctx: Context, batches: list[list[tuple]], check_id: str) -> tuple[dict[str, Any], list[Any]]:
    """Hand the learner's aggregator these stream batches for a player of the check's own,
    read that player's totals, and remove them again. Returns (totals, what each call returned)."""
    require_function(ctx, AGGREGATOR)
    records, totals = describe_table(ctx, RECORDS), describe_table(ctx, TOTALS)
    if records is None or totals is None:
        raise Incorrect("the aggregator needs both tables (exercise 5.1)")
    stream = records.get("LatestStreamArn") or records["TableArn"] + "/stream/none"
    player = _check_player()
    dynamodb = ctx.client("dynamodb")
    answers = []
    try:
        for batch in batches:
            changes = [
                (
                    name,
                    {"PlayerName": player, "RecordID": rid},
                    _game(player, rid, new, **extra) if new is not None else None,
                    _game(player, rid, old) if old is not None else None,
                )
                for name, rid, new, old, extra in batch
            ]
            result, error = invoke_raw(ctx, AGGREGATOR, stream_event(stream, changes))
            if error is not None:
                raise Incorrect(f"for a batch of {len(changes)} records: " + describe_error(ctx, AGGREGATOR, error))
            answers.append(result)
        item = dynamodb.get_item(
            TableName=totals["TableName"], Key={"PlayerName": {"S": player}}, ConsistentRead=True
        ).get("Item", {})
    finally:
        dynamodb.delete_item(TableName=totals["TableName"], Key={"PlayerName": {"S": player}})
    numbers = {name: int(value["N"]) for name, value in item.items() if "N" in value}
    return numbers, answers


# Three games of 120, 300 and 80; then the anti-cheat pass marks the 300 verified (a MODIFY).
GAMES = [
    ("INSERT", "r1", 120, None, {}),
    ("INSERT", "r2", 300, None, {}),
    ("INSERT", "r3", 80, None, {}),
    ("MODIFY", "r2", 300, 300, {"Verified": True}),
]
RIGHT = {"TotalScore": 500, "GamesPlayed": 3, "BestScore": 300}


def _compare(ctx: Context, got: dict[str, Any], situation: str) -> None:
    name = ctx.names.function(AGGREGATOR)
    if got.get("GamesPlayed") == 4 and got.get("TotalScore") == 800:
        raise Incorrect(
            f"{name} counted a MODIFY (a game marked verified) as a new game: only an INSERT is a new "
            "game — look at record['eventName']"
        )
    if got.get("GamesPlayed", 0) > RIGHT["GamesPlayed"]:
        raise Incorrect(
            f"{situation}, {name} counted {got.get('GamesPlayed')} games and a total of "
            f"{got.get('TotalScore')}; 3 games of 120, 300 and 80 were played"
        )
    wrong = {k: got.get(k) for k in RIGHT if got.get(k) != RIGHT[k]}
    if wrong:
        raise Incorrect(
            f"{situation}, {name} left {wrong} in {ctx.names.table(TOTALS)}; for games of 120, 300 "
            f"and 80 expected {RIGHT}"
        )


@exercise(
    "5.2",
    "Add each game to the player's totals",
    solution=SOLUTION,
    hints=(
        "Each stream record says what happened in record['eventName']: INSERT, MODIFY or REMOVE. Which of them is a "
        "new game?",
        "For an INSERT: table.update_item(Key={'PlayerName': game['PlayerName']}, UpdateExpression='ADD TotalScore "
        ":score, GamesPlayed :one', ExpressionAttributeValues={':score': game['Score'], ':one': 1}).",
        "Skip other records with `if record['eventName'] != 'INSERT': continue`; after the update, "
        "best[game['PlayerName']] = max(best.get(game['PlayerName'], 0), game['Score']).",
    ),
)
def aggregation(ctx: Context) -> str:
    require_handler_attempted(ctx, NAIVE_FILE)
    got, _ = _totals_after(ctx, [GAMES], "5.2")
    _compare(ctx, got, "after three games and a verification")
    return f"{ctx.names.function(AGGREGATOR)} counts INSERTs as games, with total and best score"


@exercise(
    "5.3",
    "The mapping",
    solution=SOLUTION,
    hints=(
        "lambda's create_event_source_mapping connects a stream to a function; the stream's ARN is the table's "
        "LatestStreamArn.",
        "create_event_source_mapping(EventSourceArn=stream_of(records_name), FunctionName=aggregator, "
        "StartingPosition=..., BatchSize=100)",
        "StartingPosition='TRIM_HORIZON' starts from the oldest record still in the stream; create the mapping only if "
        "aggregator_mapping() is None.",
    ),
)
def mapping(ctx: Context) -> str:
    records = describe_table(ctx, RECORDS)
    stream = records and records.get("LatestStreamArn")
    if not stream:
        raise NotAttempted(f"{ctx.names.table(RECORDS)} and its stream come first (exercise 5.1)")
    name = ctx.names.function(AGGREGATOR)
    found = mappings_of(ctx, stream, AGGREGATOR)
    if not found:
        raise NotAttempted(f"no event-source mapping connects {ctx.names.table(RECORDS)}'s stream to {name} yet")
    if len(found) > 1:
        raise Incorrect(
            f"{len(found)} mappings connect the stream to {name}: each would deliver every record, so "
            "every game counts twice; delete all but one (delete_event_source_mapping)"
        )
    (mapping,) = found
    detail = ctx.client("lambda").get_event_source_mapping(UUID=mapping["UUID"])
    faults = Faults()
    if detail.get("StartingPosition") != "TRIM_HORIZON":
        faults.add(
            f"the mapping starts at {detail.get('StartingPosition')}: games written before it began polling "
            "are never counted; use StartingPosition='TRIM_HORIZON' (delete it and create it again: the "
            "starting position cannot change)",
            hint="lam.delete_event_source_mapping(UUID=...), then create it with StartingPosition='TRIM_HORIZON'",
        )
    if detail.get("State") in ("Disabled", "Disabling"):
        faults.add(
            "the mapping is disabled: update_event_source_mapping(UUID=..., Enabled=True)",
            hint="lam.update_event_source_mapping(UUID=mapping['UUID'], Enabled=True)",
        )
    if int(detail.get("BatchSize") or 0) > 100:
        faults.add(
            f"the mapping's batches hold up to {detail['BatchSize']} records; use at most 100",
            hint="lam.update_event_source_mapping(UUID=mapping['UUID'], BatchSize=100)",
        )
    faults.raise_any()
    return f"{ctx.names.table(RECORDS)}'s stream feeds {name} from TRIM_HORIZON, in batches of {detail['BatchSize']}"


@exercise(
    "5.4",
    "Exact under retries",
    solution=SOLUTION,
    hints=(
        "A retried batch brings records the handler already applied. The update must know whether this RecordID was "
        "counted — and record that it is, in the same write.",
        "UpdateExpression='ADD TotalScore :score, GamesPlayed :one, CountedRecords :ids' with ':ids': "
        "{game['RecordID']} (a set), and ConditionExpression='NOT contains(CountedRecords, :id)'.",
        "Catch table.meta.client.exceptions.ConditionalCheckFailedException (counted before: skip it). Then "
        "update_event_source_mapping(UUID=mapping['UUID'], FunctionResponseTypes=['ReportBatchItemFailures']).",
    ),
)
def retry_safe(ctx: Context) -> str:
    require_handler_attempted(ctx, SAFE_FILE)
    name = ctx.names.function(AGGREGATOR)
    got, answers = _totals_after(ctx, [GAMES, GAMES[:2], GAMES], "5.4")
    faults = Faults()
    try:
        _compare(ctx, got, "when the same batch was delivered again (a retry)")
    except Incorrect as wrong:
        faults.found += [
            Fault(
                f.message,
                f.hint
                or "the update_item that adds the game must also add its RecordID "
                "to CountedRecords, with ConditionExpression='NOT contains("
                "CountedRecords, :id)'",
            )
            for f in wrong.faults
        ]
    if not all(isinstance(a, dict) and a.get("batchItemFailures") == [] for a in answers):
        faults.add(
            f"{name} answered {answers[0]!r} for a batch it processed entirely; answer "
            "{'batchItemFailures': []}, so the mapping knows no record failed",
            hint="end the handler with return {'batchItemFailures': failures}",
        )
    records = describe_table(ctx, RECORDS)
    found = (
        mappings_of(ctx, records["LatestStreamArn"], AGGREGATOR) if records and records.get("LatestStreamArn") else []
    )
    if not found:
        faults.add(f"no mapping feeds {name} (exercise 5.3)", hint="exercise 5.3 creates the mapping")
    elif "ReportBatchItemFailures" not in (
        ctx.client("lambda").get_event_source_mapping(UUID=found[0]["UUID"]).get("FunctionResponseTypes") or []
    ):
        faults.add(
            "the mapping ignores the handler's batchItemFailures: set FunctionResponseTypes="
            "['ReportBatchItemFailures'] with update_event_source_mapping",
            hint="lam.update_event_source_mapping(UUID=mapping['UUID'], FunctionResponseTypes="
            "['ReportBatchItemFailures'])",
        )
    faults.raise_any()
    return f"{name} counts each game once when batches are retried, and reports failed records"


# ---- check your understanding ---------------------------------------------------------------

WALKTHROUGH = "notebooks/05_dynamodb_streams.ipynb"

question(
    "5.q1",
    "Which stream view type",
    asked_in=WALKTHROUGH,
    answer="c",
    why={
        "a": "KEYS_ONLY records carry the key attributes alone: the handler would not even see the new score.",
        "b": "NEW_IMAGE has the score after the change but not the one before, so the record cannot say by how much it "
        "changed (the handler would have to have kept the old score itself).",
        "c": "NEW_AND_OLD_IMAGES carries the item before and after the change, so the difference is in the "
        "record itself.",
    },
    hints=(
        "What must a record carry to compute 'new score minus old score'?",
        "Look at the table of view types: which ones show OldImage for a MODIFY, and which NewImage?",
    ),
)

question(
    "5.q2",
    "What a filtered scan reads",
    asked_in=WALKTHROUGH,
    answer="b",
    why={
        "a": "a FilterExpression is applied after the items are read: it trims what comes back, not what is read and "
        "billed.",
        "b": "a scan reads every item of the table (page by page), and the filter drops most of them afterwards; "
        "ScannedCount says how many were read, Count how many came back.",
        "c": "a scan has no key condition, so it cannot stay in one partition: that is what a query does.",
    },
    hints=("Compare ScannedCount with Count in the notebook's table: which one did the filter change?",),
)

question(
    "5.q3",
    "What Lambda retries after an error",
    asked_in=f"solutions/{SOLUTION}",
    answer="a",
    why={
        "a": "by default a stream mapping retries the whole batch until it succeeds or its records expire, so the "
        "59 records already applied are handed over again.",
        "b": "retrying from the failing record on needs a partial batch response: ReportBatchItemFailures on the mapping "
        "and batchItemFailures in the answer. An exception says nothing about which record failed.",
        "c": "a stream is read in order per shard: by default Lambda keeps retrying the failed batch (until it succeeds "
        "or its records expire) and does not go past it.",
    },
    hints=(
        "What does an exception tell Lambda about which records of the batch were done?",
        "Look at the Retries section: 300 games played, how many counted?",
    ),
)

question(
    "5.q4",
    "Exact under retries",
    asked_in=f"solutions/{SOLUTION}",
    answer="b",
    why={
        "a": "swallowing every error means a record that really failed is never retried, so its game is never counted; "
        "and a retry can still come when the invocation itself fails (a timeout after the writes).",
        "b": "one conditional update that adds the score and records the RecordID is all or nothing, so a retried "
        "record finds its id there and is skipped.",
        "c": "a batch of one record, retried, applies that record twice all the same: smaller batches make fewer "
        "duplicates, not none.",
    },
    hints=(
        "Which of the three makes a second application of the same record harmless?",
        "Think of a retry after the update succeeded: what must the update find to know it was done?",
    ),
)
