"""Game-score records per second through lab 5's stream mapping, beside the bound of the same run.

GameScoreRecords (hash PlayerName, range RecordID, NEW_AND_OLD_IMAGES) --stream, BatchSize
100, ReportBatchItemFailures--> the lab's retry-safe aggregator (its source read from
solutions/05_game_scores.ipynb, not copied) --> GameScoresByUser.

Records are written with BatchWriteItem (25 a call) from 4 threads; the figure is from the
first write to the last record handed to the aggregator and its batch finished. Bounds of
the same run: the BatchWriteItem item rate (how fast records can enter), and the rate of
the calls the aggregator makes per record (one conditional UpdateItem per game, plus one
BestScore UpdateItem per player per batch) replayed directly. Each player's CountedRecords
set grows by one id per game, and an update costs more the larger its item: the replayed
updates are timed against new players (what the run's first batches paid) and against the
run's own players once it is over (what its last batches paid).
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness import ROOT, Emulator, concurrent_rate

from workshop.account import environment
from workshop.account.deploy import deploy_function
from workshop.core.waiting import wait_for
from workshop.lab_helpers import scores

NOTEBOOK = ROOT / "solutions" / "05_game_scores.ipynb"
HANDLER_FILE = "handlers/aggregate_scores_safe.py"
PLAYERS = 20
BATCH_SIZE = 100
WRITERS = 4
RUN_SEED, RAW_SEED = 5, 9  # the run's games and the replayed ones: two different sets of players


def aggregator_source() -> str:
    """The lab's retry-safe handler, as the solution notebook writes it to a file."""
    for cell in json.loads(NOTEBOOK.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.startswith(f"%%writefile {HANDLER_FILE}"):
            return source.split("\n", 1)[1]
    raise LookupError(f"no cell writes {HANDLER_FILE} in {NOTEBOOK.name}")


def _tables(aws: Any, records: str, totals: str) -> None:
    ddb = aws.client("dynamodb")
    ddb.create_table(
        TableName=records,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "PlayerName", "KeyType": "HASH"},
            {"AttributeName": "RecordID", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "PlayerName", "AttributeType": "S"},
            {"AttributeName": "RecordID", "AttributeType": "S"},
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.create_table(
        TableName=totals,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "PlayerName", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PlayerName", "AttributeType": "S"}],
    )


def _write(aws: Any, table: str, games: list[dict[str, Any]]) -> float:
    """BatchWriteItem, 25 items a call, from WRITERS threads; returns the seconds it took."""
    clients = [aws.client("dynamodb") for _ in range(WRITERS)]
    chunks = [games[i : i + 25] for i in range(0, len(games), 25)]

    def put(i: int) -> None:
        request = {
            table: [
                {
                    "PutRequest": {
                        "Item": {
                            "PlayerName": {"S": g["PlayerName"]},
                            "RecordID": {"S": g["RecordID"]},
                            "Score": {"N": str(g["Score"])},
                            "Level": {"N": str(g["Level"])},
                        }
                    }
                }
                for g in chunks[i]
            ]
        }
        while request:
            request = clients[i % WRITERS].batch_write_item(RequestItems=request).get("UnprocessedItems") or None

    started = time.perf_counter()
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(put, range(len(chunks))))
    return time.perf_counter() - started


def run(emulator: Emulator, count: int, run_id: str) -> dict[str, Any]:
    aws = emulator.backend
    names = aws.names(f"scores{run_id}")
    environment.provision(aws, names)
    records, totals = names.table("GameScoreRecords"), names.table("GameScoresByUser")
    _tables(aws, records, totals)
    ddb, lam = aws.client("dynamodb"), aws.client("lambda")
    arn = deploy_function(
        aws, names, "score-aggregator", {"app.py": aggregator_source()}, environment={"TABLE": totals}
    )
    stream = ddb.describe_table(TableName=records)["Table"]["LatestStreamArn"]
    uuid = lam.create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=BATCH_SIZE,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )["UUID"]
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", "the mapping", timeout=120)
    games = scores.generate(count, players=PLAYERS, seed=RUN_SEED)

    with emulator.memory() as memory:
        started = time.perf_counter()
        write_seconds = _write(aws, records, games)
        wait_for(
            lambda: emulator.stats()["mappings"].get(uuid, {}).get("records", 0) >= count and emulator.stats()["idle"],
            "every record aggregated",
            timeout=7200,
            max_interval=0.1,
        )
        seconds = time.perf_counter() - started
    counted = sum(
        int(item["GamesPlayed"]["N"])
        for page in ddb.get_paginator("scan").paginate(TableName=totals)
        for item in page["Items"]
        if "GamesPlayed" in item
    )
    batches = emulator.stats()["mappings"][uuid]["batches"]
    return {
        "records": count,
        "seconds": seconds,
        "records_per_s": count / seconds,
        "write_seconds": write_seconds,
        "batch_write_items_per_s": count / write_seconds,
        "games_counted": counted,
        "batches": batches,
        "records_per_batch": count / max(1, batches),
        "peak_emulator_rss_mb": memory.peak_emulator_mb,
        "peak_total_rss_mb": memory.peak_total_mb,
    }


def raw_rates(emulator: Emulator, count: int = 2000, label: str = "rawscores") -> dict[str, Any]:
    """In the same emulator: the BatchWriteItem item rate into a stream-enabled table and the
    aggregator's UpdateItem rate against new players' totals. (Reading the stream is no HTTP
    request: the emulator's poller reads its records in process; the bound leaves it out.)"""
    aws = emulator.backend
    names = aws.names(label)
    records, totals = names.table("GameScoreRecords"), names.table("GameScoresByUser")
    _tables(aws, records, totals)
    games = scores.generate(count, players=PLAYERS, seed=RAW_SEED)
    write_seconds = _write(aws, records, games)
    update_rate = update_item_rate(emulator, totals, games[: min(count, 1000)], label)
    return {"batch_write_items_per_s": count / write_seconds, "update_item_per_s": update_rate}


def update_item_rate(emulator: Emulator, totals: str, games: list[dict[str, Any]], label: str) -> float:
    """The aggregator's conditional ADD for each of ``games`` against ``totals``, one call after
    another (a stream shard is handled one batch at a time), in calls per second. ``label``
    makes the games' ids new, so every update adds its id as the run's did."""
    ddb = emulator.backend.client("dynamodb")

    def add_game(i: int) -> int:
        game = games[i]
        try:
            ddb.update_item(
                TableName=totals,
                Key={"PlayerName": {"S": game["PlayerName"]}},
                UpdateExpression="ADD TotalScore :score, GamesPlayed :one, CountedRecords :ids",
                ConditionExpression="NOT contains(CountedRecords, :id)",
                ExpressionAttributeValues={
                    ":score": {"N": str(game["Score"])},
                    ":one": {"N": "1"},
                    ":ids": {"SS": [f"{label}-{game['RecordID']}"]},
                    ":id": {"S": f"{label}-{game['RecordID']}"},
                },
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            pass
        return 1

    rate, _, _ = concurrent_rate(add_game, len(games), threads=1)
    return rate


def grown_update_item_rate(emulator: Emulator, totals: str, count: int = 1000) -> float:
    """After a run: the same updates against the run's own players, whose sets now hold every
    id the run counted (what its last batches paid)."""
    return update_item_rate(emulator, totals, scores.generate(count, players=PLAYERS, seed=RUN_SEED), "rawgrown")


def serial_shard_bound(before: dict[str, Any], after: dict[str, Any], grown_update_per_s: float) -> dict[str, Any]:
    """Records per second when each record costs the aggregator's calls, one after another (one
    shard, one batch at a time).

    The update of a new player was measured before the run and again after it: the better of
    the two is used (this machine's background load moves a rate by up to half within minutes).
    An update's cost grows with its item's set of ids, which grows by one per game, evenly over
    the run: the run's mean update costs the mean of its first (a new player's) and its last (a
    grown player's)."""
    calls_per_record = 1 + PLAYERS / BATCH_SIZE  # one UpdateItem per game, one per player per batch
    first = max(before["update_item_per_s"], after["update_item_per_s"])
    mean_update_seconds = (1 / first + 1 / grown_update_per_s) / 2
    return {
        "serial_shard_bound_records_per_s": 1 / (calls_per_record * mean_update_seconds),
        "bound_first_update_item_per_s": first,
        "bound_last_update_item_per_s": grown_update_per_s,
        "aggregator_calls_per_record": calls_per_record,
    }
