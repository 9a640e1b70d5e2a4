"""Lab 6's checks: the solution is correct, and each typical mistake is caught by name."""

from __future__ import annotations

import json

import nbformat
import pytest

from workshop.account.deploy import deploy_function
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.core.waiting import wait_for
from workshop.teaching import grading

HANDLER = "handlers/placement_trigger.py"
TRANSITION = 'return len(old.get("Games", [])) == PLACEMENT_GAMES - 1 and len(new.get("Games", [])) == PLACEMENT_GAMES'
SEND = 'MessageGroupId=player, MessageDeduplicationId=f"{player}-placement"'
PLACEMENT_ONLY = {
    "eventName": ["MODIFY"],
    "dynamodb": {"OldImage": {"GameCount": {"N": ["9"]}}, "NewImage": {"GameCount": {"N": ["10"]}}},
}


def handler_source(folder: str) -> str:
    notebook = nbformat.read(ROOT / folder / "06_stream_to_fifo.ipynb", as_version=4)
    return next(c.source for c in notebook.cells if c.source.startswith(f"%%writefile {HANDLER}")).split("\n", 1)[1]


SOLVED = handler_source("solutions")


def mistaken(old: str, new: str) -> str:
    assert old in SOLVED
    return SOLVED.replace(old, new)


@pytest.fixture
def lab(ctx):
    """What the lab's first cell gives: the table with its stream and the FIFO queue."""
    dynamodb, sqs = ctx.client("dynamodb"), ctx.client("sqs")
    dynamodb.create_table(
        TableName=ctx.names.table("PlayerPlacements"),
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "workshop:env", "Value": ctx.names.prefix}],
        KeySchema=[{"AttributeName": "PlayerName", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PlayerName", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    sqs.create_queue(
        QueueName=ctx.names.queue("placement-jobs", fifo=True), Attributes={"FifoQueue": "true"}, tags=ctx.names.tag
    )
    return ctx


def queue_url(ctx):
    return ctx.client("sqs").get_queue_url(QueueName=ctx.names.queue("placement-jobs", fifo=True))["QueueUrl"]


def stream_arn(ctx):
    return ctx.client("dynamodb").describe_table(TableName=ctx.names.table("PlayerPlacements"))["Table"][
        "LatestStreamArn"
    ]


def deploy(ctx, source, pattern=None):
    (ctx.workdir / HANDLER).write_text(source)
    deploy_function(
        ctx.aws, ctx.names, "placement-trigger", {"app.py": source}, environment={"QUEUE_URL": queue_url(ctx)}
    )
    lam = ctx.client("lambda")
    options = {"FilterCriteria": {"Filters": [{"Pattern": json.dumps(pattern)}]}} if pattern else {}
    uuid = lam.create_event_source_mapping(
        EventSourceArn=stream_arn(ctx),
        FunctionName=ctx.names.function("placement-trigger"),
        StartingPosition="TRIM_HORIZON",
        **options,
    )["UUID"]
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", "the mapping")


def verdict(ctx, exercise_id):
    found = grading.evaluate(exercise_id, ctx)
    return found.outcome, found.message


def queued(ctx):
    messages = (
        ctx.client("sqs")
        .receive_message(QueueUrl=queue_url(ctx), MaxNumberOfMessages=10, AttributeNames=["All"])
        .get("Messages", [])
    )
    return messages


def test_untouched_then_solved(lab):
    deploy(lab, handler_source("labs"))
    for exercise_id in ("6.1", "6.2", "6.3"):
        assert verdict(lab, exercise_id)[0] is grading.Outcome.NOT_ATTEMPTED, verdict(lab, exercise_id)
    lab.client("lambda").delete_event_source_mapping(
        UUID=lab.client("lambda").list_event_source_mappings(EventSourceArn=stream_arn(lab))["EventSourceMappings"][0][
            "UUID"
        ]
    )
    deploy(lab, SOLVED, PLACEMENT_ONLY)
    for exercise_id in ("6.1", "6.2", "6.3"):
        assert verdict(lab, exercise_id)[0] is grading.Outcome.CORRECT, verdict(lab, exercise_id)
    assert queued(lab) == [], "the checks take their own jobs off the learner's queue"


def test_one_exercise_solved_is_checked_while_the_other_is_untouched(lab):
    untouched = handler_source("labs")
    only_transition = untouched.replace(
        untouched[untouched.index("    # TODO: compare") : untouched.index("def send_job")],
        "    " + TRANSITION + "\n\n\n",
    )
    deploy(lab, only_transition)
    assert verdict(lab, "6.1")[0] is grading.Outcome.CORRECT, verdict(lab, "6.1")
    assert verdict(lab, "6.3")[0] is grading.Outcome.NOT_ATTEMPTED, verdict(lab, "6.3")


def test_the_solution_starts_one_job_per_player_through_the_filtered_stream(lab):
    deploy(lab, SOLVED, PLACEMENT_ONLY)
    dynamodb = lab.client("dynamodb")
    for game in range(12):
        for player in ("ana", "bo"):
            dynamodb.update_item(
                TableName=lab.names.table("PlayerPlacements"),
                Key={"PlayerName": {"S": player}},
                UpdateExpression="SET Games = list_append(if_not_exists(Games, :none), :game) ADD GameCount :one",
                ExpressionAttributeValues={":none": {"L": []}, ":game": {"L": [{"N": str(game)}]}, ":one": {"N": "1"}},
            )
    jobs = []
    wait_for(lambda: jobs.extend(queued(lab)) or len(jobs) >= 2, "two jobs")
    assert sorted(m["Attributes"]["MessageGroupId"] for m in jobs) == ["ana", "bo"]
    assert all(json.loads(m["Body"])["placement_games"] == list(range(10)) for m in jobs)


@pytest.mark.parametrize(
    "wrong, expected",
    [
        ('return len(new.get("Games", [])) >= PLACEMENT_GAMES', "also starts a job on the 11th game"),
        ('return len(new.get("Games", [])) == PLACEMENT_GAMES', "a change of another attribute at 10 games"),
        ("return True", "also starts a job on the first game"),
        ('return len(old.get("Games", [])) == PLACEMENT_GAMES', "started no job on the change from 9 to 10"),
    ],
)
def test_transition_mistakes_are_named(lab, wrong, expected):
    deploy(lab, mistaken(TRANSITION, wrong))
    status, message = verdict(lab, "6.1")
    assert status is grading.Outcome.INCORRECT and expected in message, message
    assert queued(lab) == []


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ({"dynamodb": {"NewImage": {"GameCount": {"N": ["10"]}}}}, "also lets through"),
        ({"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"GameCount": {"N": [10]}}}}, "drops the change"),
        (
            {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"GameCount": {"N": ["10"]}}}},
            "a change of another attribute at 10 games",
        ),
    ],
)
def test_filter_mistakes_are_named(lab, pattern, expected):
    deploy(lab, SOLVED, pattern)
    status, message = verdict(lab, "6.2")
    assert status is grading.Outcome.INCORRECT and expected in message, message


def test_no_filter_is_not_attempted(lab):
    deploy(lab, SOLVED)
    assert verdict(lab, "6.2")[0] is grading.Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize(
    "wrong, expected",
    [
        ('MessageGroupId="jobs", MessageDeduplicationId=f"{player}-placement"', "one group per player"),
        ("MessageGroupId=player, MessageDeduplicationId=str(__import__('uuid').uuid4())", "arrived 2 times"),
        ('MessageDeduplicationId=f"{player}-placement"', "MessageGroupId"),
    ],
)
def test_fifo_send_mistakes_are_named(lab, wrong, expected):
    deploy(lab, mistaken(SEND, wrong))
    status, message = verdict(lab, "6.3")
    assert status is grading.Outcome.INCORRECT and expected in message, message
    assert queued(lab) == [], "the check removes its own jobs, even when they are wrong"


def test_one_group_for_everyone_and_a_random_deduplication_id_are_both_named(lab):
    deploy(lab, mistaken(SEND, "MessageGroupId=\"jobs\", MessageDeduplicationId=str(__import__('uuid').uuid4())"))
    found = grading.evaluate("6.3", lab)
    assert found.outcome is grading.Outcome.INCORRECT and len(found.faults) == 2, found.message
    assert "one group per player" in found.faults[0].message and "arrived 2 times" in found.faults[1].message
    assert found.faults[1].hint and "-placement" in found.faults[1].hint
    assert queued(lab) == []
