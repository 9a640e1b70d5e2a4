"""Lab 5's checks: the solution is correct, and each typical mistake is caught by name."""

from __future__ import annotations

import nbformat
import pandas as pd
import pytest

from tests.conftest import emulator_stats
from workshop.account.deploy import deploy_function
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.core.waiting import wait_for
from workshop.lab_helpers import chaos, scores
from workshop.teaching import grading

NAIVE, SAFE = "handlers/aggregate_scores.py", "handlers/aggregate_scores_safe.py"


def handler_source(folder: str, path: str) -> str:
    notebook = nbformat.read(ROOT / folder / "05_game_scores.ipynb", as_version=4)
    return next(c.source for c in notebook.cells if c.source.startswith(f"%%writefile {path}")).split("\n", 1)[1]


SOLVED_NAIVE, SOLVED_SAFE = handler_source("solutions", NAIVE), handler_source("solutions", SAFE)
ADD_PER_GAME = """        if record["eventName"] != "INSERT":
            continue
"""


def plain_add(source: str) -> str:
    """The safe handler with its conditional add turned back into a plain ADD."""
    plain = (
        source.replace('ConditionExpression="NOT contains(CountedRecords, :id)",', "")
        .replace(", CountedRecords :ids", "")
        .replace('":ids": {game["RecordID"]}, ":id": game["RecordID"]', "")
    )
    assert "NOT contains" not in plain and "CountedRecords :ids" not in plain
    return plain


def create_tables(
    ctx,
    records_keys=(("PlayerName", "HASH"), ("RecordID", "RANGE")),
    view="NEW_AND_OLD_IMAGES",
    billing="PAY_PER_REQUEST",
    tagged=True,
    totals=True,
):
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
            TableName=ctx.names.table(purpose),
            **options,
            **extra,
            KeySchema=[{"AttributeName": a, "KeyType": k} for a, k in keys],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a, _ in keys],
        )


def deploy_aggregator(ctx, path, source):
    (ctx.workdir / path).write_text(source)
    deploy_function(
        ctx.aws,
        ctx.names,
        "score-aggregator",
        {"app.py": source},
        environment={"TABLE": ctx.names.table("GameScoresByUser")},
    )


def create_mapping(ctx, position="TRIM_HORIZON", **options):
    lam = ctx.client("lambda")
    stream = ctx.client("dynamodb").describe_table(TableName=ctx.names.table("GameScoreRecords"))["Table"]
    uuid = lam.create_event_source_mapping(
        EventSourceArn=stream["LatestStreamArn"],
        FunctionName=ctx.names.function("score-aggregator"),
        StartingPosition=position,
        BatchSize=100,
        **options,
    )["UUID"]
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", "the mapping")
    return uuid


def requests_of(ctx):
    """The emulator's count of the aggregator's invocations: {"ok": n, "error": m}."""
    return emulator_stats(ctx.aws.endpoint_url)["invocations"][ctx.names.function("score-aggregator")]


def verdict(ctx, exercise_id):
    found = grading.evaluate(exercise_id, ctx)
    return found.outcome, found.message


def solve(ctx):
    create_tables(ctx)
    deploy_aggregator(ctx, NAIVE, SOLVED_NAIVE)
    uuid = create_mapping(ctx, FunctionResponseTypes=["ReportBatchItemFailures"])
    (ctx.workdir / SAFE).write_text(SOLVED_SAFE)
    deploy_aggregator(ctx, SAFE, SOLVED_SAFE)
    return uuid


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


def test_the_solution_equals_a_pandas_groupby_under_retried_batches(ctx, in_process_backend):
    """The issue's promise: with a fifth of the invocations failing after the handler ran (so
    batches are retried whole), GameScoresByUser equals a groupby of the records exactly."""
    # Small batches: many invocations, so a fifth of them failing is certain to retry some.
    ctx.client("lambda").update_event_source_mapping(UUID=solve(ctx), BatchSize=10)
    season = scores.generate(400, players=8, seed=3)
    records = ctx.aws.resource("dynamodb").Table(ctx.names.table("GameScoreRecords"))
    totals = ctx.aws.resource("dynamodb").Table(ctx.names.table("GameScoresByUser"))
    expected = (
        pd.DataFrame(season)
        .groupby("PlayerName")
        .agg(TotalScore=("Score", "sum"), GamesPlayed=("Score", "size"), BestScore=("Score", "max"))
    )

    def counted():
        items = totals.scan(ConsistentRead=True)["Items"]
        frame = pd.DataFrame(items, columns=["PlayerName", *expected.columns]).set_index("PlayerName")
        frame = frame.reindex(expected.index).fillna(0).astype(int)
        return frame.equals(expected)

    with chaos.switched(failure_rate=0.2, seed=5):
        with records.batch_writer() as batch:
            for game in season:
                batch.put_item(Item=game)
        for game in season[::10]:  # verified afterwards: MODIFYs, not new games
            records.update_item(
                Key={"PlayerName": game["PlayerName"], "RecordID": game["RecordID"]},
                UpdateExpression="SET Verified = :yes",
                ExpressionAttributeValues={":yes": True},
            )
        wait_for(counted, "totals equal to the groupby", timeout=120)
    invocations = requests_of(ctx)
    assert invocations["error"] > 0, "failures were injected, so some batches were retried"
    assert counted(), "and they stay equal: no retried batch counts late"


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"records_keys": (("PlayerName", "HASH"),)}, "second game would overwrite the first"),
        ({"records_keys": (("RecordID", "HASH"),)}, "PlayerName (hash) and RecordID (range)"),
        ({"view": None}, "has no stream"),
        ({"view": "NEW_IMAGE"}, "NEW_AND_OLD_IMAGES"),
        ({"billing": "PROVISIONED"}, "PAY_PER_REQUEST"),
        ({"tagged": False}, "teardown would never find it"),
        ({"totals": False}, "there is no table"),
    ],
)
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


def test_every_fault_of_the_tables_is_named_at_once_keys_first(ctx):
    """A hash key alone, a NEW_IMAGE stream, provisioned and untagged: four faults in one verdict."""
    create_tables(ctx, records_keys=(("PlayerName", "HASH"),), view="NEW_IMAGE", billing="PROVISIONED", tagged=False)
    found = grading.evaluate("5.1", ctx)
    assert found.outcome is grading.Outcome.INCORRECT
    messages = [fault.message for fault in found.faults]
    assert "second game would overwrite the first" in messages[0], messages
    assert any("NEW_AND_OLD_IMAGES" in m for m in messages) and any("PAY_PER_REQUEST" in m for m in messages), messages
    assert any("teardown would never find it" in m for m in messages), messages
    assert all(fault.hint for fault in found.faults), "each fault carries the hint that fixes it"


def test_a_plain_add_and_a_mapping_without_batch_item_failures_are_both_named(ctx):
    create_tables(ctx)
    deploy_aggregator(ctx, SAFE, plain_add(SOLVED_SAFE))
    create_mapping(ctx)
    found = grading.evaluate("5.4", ctx)
    assert found.outcome is grading.Outcome.INCORRECT and len(found.faults) == 2, found.message
    assert "delivered again" in found.faults[0].message and "ReportBatchItemFailures" in found.faults[1].message
