"""Lab 2's checks: the solution is correct, and each typical mistake is caught by name."""

from __future__ import annotations

import nbformat
import pytest

from workshop.account.deploy import deploy_function
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.teaching import grading

CONDITION = """
            ConditionExpression="attribute_not_exists(ContentHash)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD","""
HOLDER_COMPARED = '''        same_upload = holder["Key"] == {"S": key} and holder.get("Sequencer") == {"S": sequencer}
        return "redelivery" if same_upload else "duplicate"'''


def handler_source(folder: str) -> str:
    notebook = nbformat.read(ROOT / folder / "02_idempotency.ipynb", as_version=4)
    return next(c.source for c in notebook.cells if c.source.startswith("%%writefile handlers/digester.py")).split(
        "\n", 1
    )[1]


SOLVED = handler_source("solutions")


def create_table(ctx, key="ContentHash", range_key=None, billing="PAY_PER_REQUEST", tagged=True):
    schema = [{"AttributeName": key, "KeyType": "HASH"}]
    attributes = [{"AttributeName": key, "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        attributes.append({"AttributeName": range_key, "AttributeType": "S"})
    options = {"BillingMode": billing}
    if billing == "PROVISIONED":
        options["ProvisionedThroughput"] = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    if tagged:
        options["Tags"] = [{"Key": "workshop:env", "Value": ctx.names.prefix}]
    ctx.client("dynamodb").create_table(
        TableName=ctx.names.table("documents-received"), KeySchema=schema, AttributeDefinitions=attributes, **options
    )


def deploy_digester(ctx, source):
    (ctx.workdir / "handlers" / "digester.py").write_text(source)
    deploy_function(
        ctx.aws, ctx.names, "digester", {"app.py": source}, environment={"TABLE": ctx.names.table("documents-received")}
    )


def verdict(ctx, exercise_id):
    found = grading.evaluate(exercise_id, ctx)
    return found.outcome, found.message


def test_untouched_then_solved(ctx):
    deploy_digester(ctx, handler_source("labs"))
    assert verdict(ctx, "2.1")[0] is grading.Outcome.NOT_ATTEMPTED
    assert verdict(ctx, "2.2")[0] is grading.Outcome.NOT_ATTEMPTED
    create_table(ctx)
    deploy_digester(ctx, SOLVED)
    assert verdict(ctx, "2.1")[0] is grading.Outcome.CORRECT, verdict(ctx, "2.1")
    assert verdict(ctx, "2.2")[0] is grading.Outcome.CORRECT, verdict(ctx, "2.2")
    items = ctx.client("dynamodb").scan(TableName=ctx.names.table("documents-received"))["Items"]
    assert items == [], "the check removes its own item"


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"key": "ObjectKey"}, "keyed by 'ObjectKey'"),  # the typical mistake: the file name, not the content
        ({"range_key": "ReceivedAt"}, "range key 'ReceivedAt'"),
        ({"billing": "PROVISIONED"}, "PAY_PER_REQUEST"),
        ({"tagged": False}, "teardown would never find it"),
    ],
)
def test_table_mistakes_are_named(ctx, options, expected):
    create_table(ctx, **options)
    status, message = verdict(ctx, "2.1")
    assert status is grading.Outcome.INCORRECT and expected in message
    assert ctx.names.table("documents-received") in message


def test_a_plain_put_is_caught(ctx):
    """The typical mistake: a plain put silently overwrites, so the copy looks new."""
    assert CONDITION in SOLVED
    create_table(ctx)
    deploy_digester(ctx, SOLVED.replace(CONDITION, ""))
    status, message = verdict(ctx, "2.2")
    assert status is grading.Outcome.INCORRECT
    assert "accepted the same content twice" in message and "attribute_not_exists" in message


def test_an_unhandled_conditional_failure_is_caught(ctx):
    create_table(ctx)
    handled = SOLVED[SOLVED.index("    except table.meta.client") : SOLVED.index("    # END SOLUTION")]
    unhandled = SOLVED.replace(handled, "    finally:\n        pass\n")
    assert unhandled != SOLVED
    deploy_digester(ctx, unhandled)
    status, message = verdict(ctx, "2.2")
    assert status is grading.Outcome.INCORRECT and "not an error" in message


@pytest.mark.parametrize(
    "comparison, expected",
    [
        # The naive version: every refusal is a duplicate, so S3's redelivery is rejected as a second upload.
        ('        return "duplicate"', ["the same event delivered again", "at least once", "'redelivery'"]),
        # Comparing the key alone: a file re-sent under the same name passes for a redelivery.
        (
            '        return "redelivery" if holder["Key"] == {"S": key} else "duplicate"',
            ["uploaded again under the same name", "compare the holder's Sequencer too"],
        ),
        # Comparing nothing of the holder: every refusal is taken for a redelivery.
        ('        return "redelivery"', ["another upload of the same content under another name", "only the same Key"]),
    ],
)
def test_a_redelivery_taken_for_a_duplicate_or_the_reverse_is_named(ctx, comparison, expected):
    assert HOLDER_COMPARED in SOLVED
    create_table(ctx)
    deploy_digester(ctx, SOLVED.replace(HOLDER_COMPARED, comparison))
    status, message = verdict(ctx, "2.2")
    assert status is grading.Outcome.INCORRECT, message
    for part in expected:
        assert part in message, message


def test_an_item_without_the_upload_is_caught(ctx):
    """Without Key and Sequencer in the item, the holder cannot be told from another upload."""
    create_table(ctx)
    deploy_digester(ctx, SOLVED.replace('"Key": key, "Sequencer": sequencer, ', ""))
    status, message = verdict(ctx, "2.2")
    assert status is grading.Outcome.INCORRECT and "write 'Key' and 'Sequencer' into the item" in message, message


def test_a_refusal_without_its_item_is_explained(ctx):
    create_table(ctx)
    deploy_digester(ctx, SOLVED.replace('\n            ReturnValuesOnConditionCheckFailure="ALL_OLD",', ""))
    status, message = verdict(ctx, "2.2")
    assert status is grading.Outcome.INCORRECT and "ReturnValuesOnConditionCheckFailure='ALL_OLD'" in message, message


def test_a_missing_table_points_at_exercise_2_1(ctx):
    deploy_digester(ctx, SOLVED)
    status, message = verdict(ctx, "2.2")
    assert status is grading.Outcome.INCORRECT and "exercise 2.1" in message


def test_a_wrong_key_says_the_table_must_be_made_again_and_hint_says_how(ctx, capsys, monkeypatch):
    """The dead end: the notebook's 'exists already' guard keeps a wrongly keyed table on every re-run."""
    monkeypatch.setattr(grading, "_pending_hints", {})
    create_table(ctx, key="ObjectKey", tagged=False)
    status, message = verdict(ctx, "2.1")
    assert status is grading.Outcome.INCORRECT
    assert "keyed by 'ObjectKey'" in message and "cannot be changed" in message
    assert "(2)" in message and "teardown would never find it" in message, "every fault is reported"
    grading.hint("2.1")
    said = capsys.readouterr().out
    assert "delete_table" in said and "table_not_exists" in said and "tag_resource" in said


def test_hint_answers_the_fault_found_not_the_first_general_hint(ctx, capsys, monkeypatch):
    monkeypatch.setattr(grading, "_pending_hints", {})
    monkeypatch.setattr(grading, "_hints_shown", grading.Counter())
    create_table(ctx, tagged=False)
    status, message = verdict(ctx, "2.1")
    assert status is grading.Outcome.INCORRECT and "(1)" not in message, "one fault, told plainly"
    grading.hint("2.1")
    said = capsys.readouterr().out
    assert "tag_resource" in said and "What makes two files the same" not in said
