"""Lab 5's checks: the solution is correct, and each typical mistake is caught by name."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from workshop import grading
from workshop.deploy import deploy_function
from workshop.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
NAIVE, SAFE = "handlers/aggregate_scores.py", "handlers/aggregate_scores_safe.py"


def handler_source(folder: str, path: str) -> str:
    notebook = nbformat.read(ROOT / folder / "05_game_scores.ipynb", as_version=4)
    return next(c.source for c in notebook.cells
                if c.source.startswith(f"%%writefile {path}")).split("\n", 1)[1]


SOLVED_NAIVE, SOLVED_SAFE = handler_source("solutions", NAIVE), handler_source("solutions", SAFE)
ADD_PER_GAME = '''        if record["eventName"] != "INSERT":
            continue
'''


def plain_add(source: str) -> str:
    """The safe handler with its conditional add turned back into a plain ADD."""
    plain = (source.replace('ConditionExpression="NOT contains(CountedRecords, :id)",', "")
             .replace(", CountedRecords :ids", "")
             .replace('":ids": {game["RecordID"]}, ":id": game["RecordID"]', ""))
    assert "NOT contains" not in plain and "CountedRecords :ids" not in plain
    return plain


def create_tables(ctx, records_keys=(("PlayerName", "HASH"), ("RecordID", "RANGE")), view="NEW_AND_OLD_IMAGES",
                  billing="PAY_PER_REQUEST", tagged=True, totals=True):
    dynamodb = ctx.client("dynamodb")
    options = {"BillingMode": billing}
    if billing == "PROVISIONED":
        options["ProvisionedThroughput"] = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    if tagged:
        options["Tags"] = [{"Key": "workshop:env", "Value": ctx.names.prefix}]
    stream = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": view}} if view else {}
    tables = [("GameScoreRecords", records_keys, stream)]
    if totals:
        tables.append(("GameScoresByUser", (("PlayerName", "HASH"),), {}))
    for purpose, keys, extra in tables:
        dynamodb.create_table(
            TableName=ctx.names.table(purpose), **options, **extra,
            KeySchema=[{"AttributeName": a, "KeyType": k} for a, k in keys],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a, _ in keys])


def deploy_aggregator(ctx, path, source):
    (ctx.workdir / path).write_text(source)
    deploy_function(ctx.aws, ctx.names, "score-aggregator", {"app.py": source},
                    environment={"TABLE": ctx.names.table("GameScoresByUser")})


def create_mapping(ctx, position="TRIM_HORIZON", **options):
    lam = ctx.client("lambda")
    stream = ctx.client("dynamodb").describe_table(TableName=ctx.names.table("GameScoreRecords"))["Table"]
    uuid = lam.create_event_source_mapping(EventSourceArn=stream["LatestStreamArn"],
                                           FunctionName=ctx.names.function("score-aggregator"),
                                           StartingPosition=position, BatchSize=100, **options)["UUID"]
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", "the mapping")
    return uuid


def verdict(ctx, exercise_id):
    found = grading.evaluate(exercise_id, ctx)
    return found.outcome, found.message


def solve(ctx):
    create_tables(ctx)
    deploy_aggregator(ctx, NAIVE, SOLVED_NAIVE)
    create_mapping(ctx, FunctionResponseTypes=["ReportBatchItemFailures"])
    (ctx.workdir / SAFE).write_text(SOLVED_SAFE)
    deploy_aggregator(ctx, SAFE, SOLVED_SAFE)


def test_untouched_then_solved(ctx):
    deploy_aggregator(ctx, NAIVE, handler_source("labs", NAIVE))
    (ctx.workdir / SAFE).write_text(handler_source("labs", SAFE))
    for exercise_id in ("5.1", "5.2", "5.3", "5.4"):
        assert verdict(ctx, exercise_id)[0] is grading.Outcome.NOT_ATTEMPTED, verdict(ctx, exercise_id)
    solve(ctx)
    for exercise_id in ("5.1", "5.2", "5.3", "5.4"):
        assert verdict(ctx, exercise_id)[0] is grading.Outcome.CORRECT, verdict(ctx, exercise_id)
    totals = ctx.client("dynamodb").scan(TableName=ctx.names.table("GameScoresByUser"))["Items"]
    assert totals == [], "the checks remove the totals of their own players"


def test_the_solution_counts_a_season_exactly_through_the_stream(ctx):
    solve(ctx)
    games = [{"PlayerName": f"p{n % 3}", "RecordID": f"r{n:03d}", "Score": 10 * n} for n in range(30)]
    records = ctx.aws.resource("dynamodb").Table(ctx.names.table("GameScoreRecords"))
    with records.batch_writer() as batch:
        for game in games:
            batch.put_item(Item=game)
    records.update_item(Key={"PlayerName": "p0", "RecordID": "r000"}, UpdateExpression="SET Verified = :yes",
                        ExpressionAttributeValues={":yes": True})
    totals = ctx.aws.resource("dynamodb").Table(ctx.names.table("GameScoresByUser"))

    def counted():
        items = {i["PlayerName"]: i for i in totals.scan()["Items"]}
        return len(items) == 3 and sum(int(i["GamesPlayed"]) for i in items.values()) == 30 and items

    items = wait_for(counted, "30 games counted")
    for player in ("p0", "p1", "p2"):
        scores = [g["Score"] for g in games if g["PlayerName"] == player]
        assert (int(items[player]["TotalScore"]), int(items[player]["GamesPlayed"]), int(items[player]["BestScore"])) \
            == (sum(scores), len(scores), max(scores))


@pytest.mark.parametrize("options, expected", [
    ({"records_keys": (("PlayerName", "HASH"),)}, "second game would overwrite the first"),
    ({"records_keys": (("RecordID", "HASH"),)}, "PlayerName (hash) and RecordID (range)"),
    ({"view": None}, "has no stream"),
    ({"view": "NEW_IMAGE"}, "NEW_AND_OLD_IMAGES"),
    ({"billing": "PROVISIONED"}, "PAY_PER_REQUEST"),
    ({"tagged": False}, "teardown would never find it"),
    ({"totals": False}, "there is no table"),
])
def test_table_mistakes_are_named(ctx, options, expected):
    create_tables(ctx, **options)
    status, message = verdict(ctx, "5.1")
    assert status is grading.Outcome.INCORRECT and expected in message, message


def test_counting_a_modify_as_a_new_game_is_caught(ctx):
    create_tables(ctx)
    deploy_aggregator(ctx, NAIVE, SOLVED_NAIVE.replace(ADD_PER_GAME, ""))
    status, message = verdict(ctx, "5.2")
    assert status is grading.Outcome.INCORRECT and "counted a MODIFY" in message, message


def test_a_handler_that_crashes_is_quoted(ctx):
    create_tables(ctx)
    deploy_aggregator(ctx, NAIVE, SOLVED_NAIVE.replace('game["Score"], ":one"', 'game["Points"], ":one"'))
    status, message = verdict(ctx, "5.2")
    assert status is grading.Outcome.INCORRECT and "KeyError" in message and "log group" in message, message


def test_mapping_mistakes_are_named(ctx):
    create_tables(ctx)
    deploy_aggregator(ctx, NAIVE, SOLVED_NAIVE)
    uuid = create_mapping(ctx, position="LATEST")
    status, message = verdict(ctx, "5.3")
    assert status is grading.Outcome.INCORRECT and "TRIM_HORIZON" in message, message
    ctx.client("lambda").delete_event_source_mapping(UUID=uuid)
    create_mapping(ctx)
    assert verdict(ctx, "5.3")[0] is grading.Outcome.CORRECT
    create_mapping(ctx)  # run twice without the "once" guard
    status, message = verdict(ctx, "5.3")
    assert status is grading.Outcome.INCORRECT and "2 mappings" in message, message


def test_a_plain_add_double_counts_a_retried_batch(ctx):
    create_tables(ctx)
    deploy_aggregator(ctx, SAFE, plain_add(SOLVED_SAFE))
    create_mapping(ctx, FunctionResponseTypes=["ReportBatchItemFailures"])
    status, message = verdict(ctx, "5.4")
    assert status is grading.Outcome.INCORRECT and "delivered again" in message, message


def test_a_mapping_that_ignores_batch_item_failures_is_caught(ctx):
    create_tables(ctx)
    deploy_aggregator(ctx, SAFE, SOLVED_SAFE)
    create_mapping(ctx)
    status, message = verdict(ctx, "5.4")
    assert status is grading.Outcome.INCORRECT and "ReportBatchItemFailures" in message, message
