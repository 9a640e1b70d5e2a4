"""Lab 5, game scores: the tables, the aggregation, the stream mapping, exact under retries."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from workshop.checks.support import (describe_error, describe_table, invoke_raw, mappings_of, require_function,
                                     require_handler_attempted, require_table_tagged_on_demand, stream_event)
from workshop.grading import Context, Incorrect, NotAttempted, exercise

SOLUTION = "05_game_scores.ipynb"
RECORDS, TOTALS = "GameScoreRecords", "GameScoresByUser"
AGGREGATOR = "score-aggregator"
NAIVE_FILE, SAFE_FILE = "handlers/aggregate_scores.py", "handlers/aggregate_scores_safe.py"


def _keys(table: dict[str, Any]) -> dict[str, str]:
    return {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}


def _require_keys(table: dict[str, Any], hash_key: str, range_key: str | None) -> None:
    name, keys = table["TableName"], _keys(table)
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    if range_key and keys == {"HASH": hash_key}:
        raise Incorrect(f"{name} is keyed by {hash_key} alone: a player's second game would overwrite the first. "
                        f"Add {range_key} as range key (keys cannot change: delete the table and create it again)")
    if keys != {"HASH": hash_key, **({"RANGE": range_key} if range_key else {})}:
        wanted = f"{hash_key} (hash)" + (f" and {range_key} (range)" if range_key else " alone")
        raise Incorrect(f"{name} is keyed by {keys}; key it by {wanted} (delete the table and create it again)")
    for attribute in filter(None, (hash_key, range_key)):
        if types.get(attribute) != "S":
            raise Incorrect(f"{name}'s key {attribute} is of type {types.get(attribute)!r}; it holds text, 'S'")


@exercise("5.1", "The tables", solution=SOLUTION, hints=(
    "A player plays many games: what must the key of GameScoreRecords be so that each game is its own item, and a "
    "player's games can be read together?",
    "GameScoreRecords: KeySchema [PlayerName HASH, RecordID RANGE] and StreamSpecification={'StreamEnabled': True, "
    "'StreamViewType': 'NEW_AND_OLD_IMAGES'}; GameScoresByUser: [PlayerName HASH]. Every key attribute in "
    "AttributeDefinitions with type 'S'.",
    "Both with BillingMode='PAY_PER_REQUEST', Tags=[{'Key': 'workshop:env', 'Value': names.prefix}], then "
    "dynamodb.get_waiter('table_exists').wait(TableName=...).",
))
def tables(ctx: Context) -> str:
    records, totals = describe_table(ctx, RECORDS), describe_table(ctx, TOTALS)
    if records is None and totals is None:
        raise NotAttempted(f"there is no table {ctx.names.table(RECORDS)} yet")
    for purpose, table in ((RECORDS, records), (TOTALS, totals)):
        if table is None:
            raise Incorrect(f"there is no table {ctx.names.table(purpose)} yet")
    _require_keys(records, "PlayerName", "RecordID")
    _require_keys(totals, "PlayerName", None)
    stream = records.get("StreamSpecification") or {}
    if not stream.get("StreamEnabled"):
        raise Incorrect(f"{records['TableName']} has no stream, so nothing can react to new games: add "
                        "StreamSpecification (update_table can switch it on)")
    if stream.get("StreamViewType") != "NEW_AND_OLD_IMAGES":
        raise Incorrect(f"{records['TableName']}'s stream carries {stream.get('StreamViewType')}; the aggregator needs "
                        "the new image and step 6 the old one too: NEW_AND_OLD_IMAGES")
    for table in (records, totals):
        require_table_tagged_on_demand(ctx, table)
    return (f"{records['TableName']} (PlayerName + RecordID, streaming new and old images) and "
            f"{totals['TableName']} (PlayerName), on demand, tagged")


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
            changes = [(name, {"PlayerName": player, "RecordID": rid},
                        _game(player, rid, new, **extra) if new is not None else None,
                        _game(player, rid, old) if old is not None else None)
                       for name, rid, new, old, extra in batch]
            result, error = invoke_raw(ctx, AGGREGATOR, stream_event(stream, changes))
            if error is not None:
                raise Incorrect(f"for a batch of {len(changes)} records: " + describe_error(ctx, AGGREGATOR, error))
            answers.append(result)
        item = dynamodb.get_item(TableName=totals["TableName"], Key={"PlayerName": {"S": player}},
                                 ConsistentRead=True).get("Item", {})
    finally:
        dynamodb.delete_item(TableName=totals["TableName"], Key={"PlayerName": {"S": player}})
    numbers = {name: int(value["N"]) for name, value in item.items() if "N" in value}
    return numbers, answers


# Three games of 120, 300 and 80; then the anti-cheat pass marks the 300 verified (a MODIFY).
GAMES = [("INSERT", "r1", 120, None, {}), ("INSERT", "r2", 300, None, {}), ("INSERT", "r3", 80, None, {}),
         ("MODIFY", "r2", 300, 300, {"Verified": True})]
RIGHT = {"TotalScore": 500, "GamesPlayed": 3, "BestScore": 300}


def _compare(ctx: Context, got: dict[str, Any], situation: str) -> None:
    name = ctx.names.function(AGGREGATOR)
    if got.get("GamesPlayed") == 4 and got.get("TotalScore") == 800:
        raise Incorrect(f"{name} counted a MODIFY (a game marked verified) as a new game: only an INSERT is a new "
                        "game — look at record['eventName']")
    if got.get("GamesPlayed", 0) > RIGHT["GamesPlayed"]:
        raise Incorrect(f"{situation}, {name} counted {got.get('GamesPlayed')} games and a total of "
                        f"{got.get('TotalScore')}; 3 games of 120, 300 and 80 were played")
    wrong = {k: got.get(k) for k in RIGHT if got.get(k) != RIGHT[k]}
    if wrong:
        raise Incorrect(f"{situation}, {name} left {wrong} in {ctx.names.table(TOTALS)}; for games of 120, 300 "
                        f"and 80 expected {RIGHT}")


@exercise("5.2", "Add each game to the player's totals", solution=SOLUTION, hints=(
    "Each stream record says what happened in record['eventName']: INSERT, MODIFY or REMOVE. Which of them is a "
    "new game?",
    "For an INSERT: table.update_item(Key={'PlayerName': game['PlayerName']}, UpdateExpression='ADD TotalScore "
    ":score, GamesPlayed :one', ExpressionAttributeValues={':score': game['Score'], ':one': 1}).",
    "Skip other records with `if record['eventName'] != 'INSERT': continue`; after the update, "
    "best[game['PlayerName']] = max(best.get(game['PlayerName'], 0), game['Score']).",
))
def aggregation(ctx: Context) -> str:
    require_handler_attempted(ctx, NAIVE_FILE)
    got, _ = _totals_after(ctx, [GAMES], "5.2")
    _compare(ctx, got, "after three games and a verification")
    return f"{ctx.names.function(AGGREGATOR)} counts INSERTs as games, with total and best score"


@exercise("5.3", "The mapping", solution=SOLUTION, hints=(
    "lambda's create_event_source_mapping connects a stream to a function; the stream's ARN is the table's "
    "LatestStreamArn.",
    "create_event_source_mapping(EventSourceArn=stream_of(records_name), FunctionName=aggregator, "
    "StartingPosition=..., BatchSize=100)",
    "StartingPosition='TRIM_HORIZON' starts from the oldest record still in the stream; create the mapping only if "
    "aggregator_mapping() is None.",
))
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
        raise Incorrect(f"{len(found)} mappings connect the stream to {name}: each would deliver every record, so "
                        "every game counts twice; delete all but one (delete_event_source_mapping)")
    (mapping,) = found
    detail = ctx.client("lambda").get_event_source_mapping(UUID=mapping["UUID"])
    if detail.get("StartingPosition") != "TRIM_HORIZON":
        raise Incorrect(f"the mapping starts at {detail.get('StartingPosition')}: games written before it began "
                        "polling are never counted; use StartingPosition='TRIM_HORIZON' (delete it and create it "
                        "again: the starting position cannot change)")
    if detail.get("State") in ("Disabled", "Disabling"):
        raise Incorrect("the mapping is disabled: update_event_source_mapping(UUID=..., Enabled=True)")
    if int(detail.get("BatchSize") or 0) > 100:
        raise Incorrect(f"the mapping's batches hold up to {detail['BatchSize']} records; use at most 100")
    return f"{ctx.names.table(RECORDS)}'s stream feeds {name} from TRIM_HORIZON, in batches of {detail['BatchSize']}"


@exercise("5.4", "Exact under retries", solution=SOLUTION, hints=(
    "A retried batch brings records the handler already applied. The update must know whether this RecordID was "
    "counted — and record that it is, in the same write.",
    "UpdateExpression='ADD TotalScore :score, GamesPlayed :one, CountedRecords :ids' with ':ids': "
    "{game['RecordID']} (a set), and ConditionExpression='NOT contains(CountedRecords, :id)'.",
    "Catch table.meta.client.exceptions.ConditionalCheckFailedException (counted before: skip it). Then "
    "update_event_source_mapping(UUID=mapping['UUID'], FunctionResponseTypes=['ReportBatchItemFailures']).",
))
def retry_safe(ctx: Context) -> str:
    require_handler_attempted(ctx, SAFE_FILE)
    name = ctx.names.function(AGGREGATOR)
    got, answers = _totals_after(ctx, [GAMES, GAMES[:2], GAMES], "5.4")
    _compare(ctx, got, "when the same batch was delivered again (a retry)")
    if not all(isinstance(a, dict) and a.get("batchItemFailures") == [] for a in answers):
        raise Incorrect(f"{name} answered {answers[0]!r} for a batch it processed entirely; answer "
                        "{'batchItemFailures': []}, so the mapping knows no record failed")
    records = describe_table(ctx, RECORDS)
    found = mappings_of(ctx, records["LatestStreamArn"], AGGREGATOR) if records and records.get("LatestStreamArn") else []
    if not found:
        raise Incorrect(f"no mapping feeds {name} (exercise 5.3)")
    types = ctx.client("lambda").get_event_source_mapping(UUID=found[0]["UUID"]).get("FunctionResponseTypes") or []
    if "ReportBatchItemFailures" not in types:
        raise Incorrect("the mapping ignores the handler's batchItemFailures: set FunctionResponseTypes="
                        "['ReportBatchItemFailures'] with update_event_source_mapping")
    return f"{name} counts each game once when batches are retried, and reports failed records"
