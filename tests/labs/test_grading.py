"""Checks answer correct / incorrect / not attempted from real backend state, with messages a
learner can act on; hints come in order; the report rechecks everything; a broken check or
backend is reported as such, never as a traceback or a wrong verdict."""

from __future__ import annotations

import nbformat
import pytest

from tests.conftest import free_port
from workshop.account.deploy import deploy_function
from workshop.core import backend as backends
from workshop.core.errors import WorkshopError
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.teaching import grading
from workshop.teaching.checks import lab00_first_steps as lab00

GOOD_HANDLER = (
    'import csv, io\nimport boto3\ns3 = boto3.client("s3")\n'
    "def handler(event, context):\n"
    '    body = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read().decode()\n'
    "    rows = list(csv.DictReader(io.StringIO(body)))\n"
    '    return {"orders": len(rows), "total": round(sum(float(r["amount"]) for r in rows), 2)}\n'
)


def handler_cell(folder: str) -> str:
    """The handler file a lab or solution writes with %%writefile, as the learner sees it."""
    notebook = nbformat.read(ROOT / folder / "00_first_steps.ipynb", as_version=4)
    source = next(c.source for c in notebook.cells if c.source.startswith("%%writefile handlers/count_orders.py"))
    return source.split("\n", 1)[1]


def outcome(ctx, exercise_id):
    verdict = grading.evaluate(exercise_id, ctx)
    return verdict.outcome, verdict.message


def make_bucket(ctx, tags=None):
    s3 = ctx.client("s3")
    bucket = ctx.names.bucket("scratch")
    s3.create_bucket(Bucket=bucket)
    if tags:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    return bucket


def deploy_handler(ctx, source):
    (ctx.workdir / "handlers" / "count_orders.py").write_text(source)
    deploy_function(ctx.aws, ctx.names, "count-orders", {"app.py": source})


def test_untouched_lab_is_not_attempted_everywhere(ctx):
    untouched = handler_cell("labs")
    assert "# TODO:" in untouched and "BEGIN SOLUTION" not in untouched
    assert [outcome(ctx, e)[0] for e in ("0.1", "0.2", "0.3")] == [grading.Outcome.NOT_ATTEMPTED] * 3
    deploy_handler(ctx, untouched)  # the lab's deploy cell runs even when the exercise is untouched
    status, message = outcome(ctx, "0.3")
    assert status is grading.Outcome.NOT_ATTEMPTED and "handlers/count_orders.py" in message


def test_the_solution_is_correct_everywhere(ctx):
    bucket = make_bucket(ctx, ctx.names.tag)
    ctx.client("s3").put_object(
        Bucket=bucket, Key="orders/first.csv", Body=b"order_id,amount\n1,2.50\n", ContentType="text/csv"
    )
    deploy_handler(ctx, handler_cell("solutions"))
    for exercise_id in ("0.1", "0.2", "0.3"):
        assert outcome(ctx, exercise_id)[0] is grading.Outcome.CORRECT, outcome(ctx, exercise_id)
    assert "checks/" not in str(ctx.client("s3").list_objects_v2(Bucket=bucket).get("Contents")), (
        "the 0.3 check removes its test file"
    )


def test_untagged_or_mistagged_bucket_is_incorrect_and_named(ctx):
    bucket = make_bucket(ctx)
    status, message = outcome(ctx, "0.1")
    assert status is grading.Outcome.INCORRECT
    assert bucket in message and "no workshop:env tag" in message and ctx.names.prefix in message
    make_bucket(ctx, {"workshop:env": "somebody-else"})
    status, message = outcome(ctx, "0.1")
    assert status is grading.Outcome.INCORRECT and "somebody-else" in message


def test_object_without_its_content_type_is_incorrect(ctx):
    bucket = make_bucket(ctx, ctx.names.tag)
    s3 = ctx.client("s3")
    assert outcome(ctx, "0.2")[0] is grading.Outcome.NOT_ATTEMPTED
    s3.put_object(Bucket=bucket, Key="orders/first.csv", Body=b"order_id,amount\n1,2.50\n")
    status, message = outcome(ctx, "0.2")
    assert status is grading.Outcome.INCORRECT and "ContentType='text/csv'" in message and "orders/first.csv" in message
    s3.put_object(Bucket=bucket, Key="orders/first.csv", Body=b"hello", ContentType="text/csv")
    status, message = outcome(ctx, "0.2")
    assert status is grading.Outcome.INCORRECT and "order_id,amount" in message


@pytest.mark.parametrize(
    "body, expected",
    [
        # the typical mistake: every line is an order, the header too
        (
            '    lines = body.strip().split("\\n")\n    return {"orders": len(lines), "total": 19.75}\n',
            "header is not an order",
        ),
        (
            '    return {"orders": 3, "total": sum(float(l.split(",")[1]) for l in body.split("\\n")[1:] if l) + 1}\n',
            "expected 19.75",
        ),
        ("    return None\n", "run the deploy cell again"),
        ('    return ["3"]\n', "a dict with 'orders' and 'total'"),
        ('    raise ValueError("cannot parse " + event["key"])\n', "failed with ValueError: cannot parse checks/0.3"),
    ],
)
def test_handler_mistakes_are_caught_with_a_helpful_message(ctx, body, expected):
    make_bucket(ctx, ctx.names.tag)
    header = GOOD_HANDLER.split("    rows =")[0]
    deploy_handler(ctx, header + body)
    status, message = outcome(ctx, "0.3")
    assert status is grading.Outcome.INCORRECT, message
    assert expected in message and ctx.names.function("count-orders") in message


def test_handler_without_its_bucket_or_function(ctx):
    (ctx.workdir / "handlers" / "count_orders.py").write_text(GOOD_HANDLER)
    status, message = outcome(ctx, "0.3")
    assert status is grading.Outcome.NOT_ATTEMPTED and "deploys it" in message
    deploy_function(ctx.aws, ctx.names, "count-orders", {"app.py": GOOD_HANDLER})
    status, message = outcome(ctx, "0.3")
    assert status is grading.Outcome.INCORRECT and "exercise 0.1" in message


def test_a_broken_check_is_reported_as_the_checks_fault(ctx, monkeypatch):
    def broken(_ctx):
        return {}["missing"]

    monkeypatch.setitem(grading._EXERCISES, "99.1", grading.Exercise("99.1", "broken", broken, ("h",), "x.ipynb"))
    verdict = grading.evaluate("99.1", ctx)
    assert verdict.outcome is grading.Outcome.ERROR
    assert "KeyError" in verdict.message and "not a verdict on your answer" in verdict.message


def test_a_given_resource_deleted_points_at_reset_not_at_the_answer(ctx, monkeypatch):
    def looks_at_a_bucket(check_ctx):
        check_ctx.client("s3").get_bucket_notification_configuration(Bucket=check_ctx.names.bucket("no-such"))
        return "fine"

    monkeypatch.setitem(
        grading._EXERCISES, "98.1", grading.Exercise("98.1", "given", looks_at_a_bucket, ("h",), "x.ipynb")
    )
    verdict = grading.evaluate("98.1", ctx)
    assert verdict.outcome is grading.Outcome.ERROR
    assert "NoSuchBucket" in verdict.message and "steps.reset(98)" in verdict.message
    assert "not a verdict on your answer" in verdict.message


def test_an_unreachable_backend_is_said_plainly(ctx, tmp_path):
    gone = backends.from_environment(
        {
            "WORKSHOP_BACKEND": "embedded",
            "WORKSHOP_PORT": str(free_port()),
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
    )
    verdict = grading.evaluate("0.1", grading.Context(aws=gone, names=ctx.names, workdir=tmp_path))
    assert verdict.outcome is grading.Outcome.ERROR and "python -m workshop start" in verdict.message


def test_unknown_exercise_is_one_line_not_a_traceback(capsys):
    with pytest.raises(WorkshopError, match=r"no exercise '9.9'; the exercises are 9.1, 9.2, 9.q1, 9.q2, 9.q3, 9.q4\."):
        grading.evaluate("9.9")  # an unknown exercise of a known lab: that lab's exercises
    with pytest.raises(WorkshopError, match="no exercise '42.1'; the exercises are 0.1, 0.2, 0.3"):
        grading.evaluate("42.1")  # of an unknown lab: every exercise
    grading.check("9.9")
    assert capsys.readouterr().out.startswith("⚠️ There is no exercise '9.9'")


def test_hints_come_one_more_at_a_time(capsys, monkeypatch):
    monkeypatch.setattr(grading, "_hints_shown", grading.Counter())
    hints = grading.exercises("0")[0].hints
    for number in range(1, len(hints) + 1):
        grading.hint("0.1")
        assert f"Hint {number} of {len(hints)} for 0.1" in capsys.readouterr().out
    grading.hint("0.1")
    last = capsys.readouterr().out
    assert "No more hints" in last and "solutions/00_first_steps.ipynb" in last


def test_verdicts_and_report_render_as_one_line_and_a_table(ctx, monkeypatch):
    monkeypatch.setattr(grading, "notebook_context", lambda: ctx)
    make_bucket(ctx, ctx.names.tag)
    report = grading.report("0")
    assert isinstance(report, grading.Report) and report.correct == 1
    lines = repr(report).splitlines()
    asked = len(grading.exercises("0") + grading.questions("0", asked_in="solutions/00_first_steps.ipynb"))
    assert asked == 6, "lab 0's three exercises and the three questions it asks"
    assert lines[0] == f"Lab 0 score: 1 of {asked} correct" and len(lines) == asked + 1
    assert lines[1].startswith("✅ 0.1 A bucket of your own: correct — ")
    assert "<table" in report._repr_html_() and "not attempted" in report._repr_html_()
    assert grading.report("42").startswith("⚠️ There is no lab '42'")


def test_checks_are_registered_once_with_hints_and_solution():
    registered = grading.exercises()
    assert [e.id for e in grading.exercises("0")] == ["0.1", "0.2", "0.3"]
    for found in registered:
        assert found.hints and (ROOT / "solutions" / found.solution).is_file(), found.id
    assert lab00.SOLUTION == "00_first_steps.ipynb"


@pytest.fixture
def scratch_exercises(monkeypatch):
    """A registry of this test's own exercises and questions, the kit's checks left out."""
    monkeypatch.setattr(grading, "_EXERCISES", {})
    monkeypatch.setattr(grading, "_QUESTIONS", {})
    monkeypatch.setattr(grading, "_load_checks", lambda: None)
    monkeypatch.setattr(grading, "_hints_shown", grading.Counter())
    monkeypatch.setattr(grading, "_pending_hints", {})


def test_a_check_reports_every_fault_and_hint_answers_them(scratch_exercises, ctx, capsys):
    @grading.exercise(
        "77.1",
        "An alarm",
        solution="00_first_steps.ipynb",
        hints=("Start from put_metric_alarm.", "Look at its Statistic."),
    )
    def alarm_check(ctx):
        faults = grading.Faults()
        faults.add("the statistic is Sum; use Maximum", hint="Statistic='Maximum': the depth is a level, not a count")
        faults.add("the period is 300 s; use 60", hint="Period=60")
        faults.add("no OKActions")  # a fault without a hint of its own
        faults.raise_any()
        return "fine"

    verdict = grading.evaluate("77.1", ctx)
    assert verdict.outcome is grading.Outcome.INCORRECT
    assert verdict.message == "(1) the statistic is Sum; use Maximum (2) the period is 300 s; use 60 (3) no OKActions"
    assert [f.message for f in verdict.faults][0] == "the statistic is Sum; use Maximum"
    assert verdict._repr_html_().count("<li>") == 3
    grading.hint("77.1")
    targeted = capsys.readouterr().out
    assert "for what the last check found" in targeted
    assert "Statistic='Maximum'" in targeted and "Period=60" in targeted and "Start from" not in targeted
    grading.hint("77.1")  # asked again: the general hints, in order
    assert "Hint 1 of 2 for 77.1" in capsys.readouterr().out


def test_one_fault_keeps_its_plain_message_and_a_correct_check_leaves_no_targeted_hint(scratch_exercises, ctx, capsys):
    state = {"wrong": True}

    @grading.exercise("77.2", "A table", solution="00_first_steps.ipynb", hints=("General hint.",))
    def table_check(ctx):
        if state["wrong"]:
            raise grading.Incorrect("keyed by 'ObjectKey'", hint="delete the table and create it again")
        return "fine"

    assert grading.evaluate("77.2", ctx).message == "keyed by 'ObjectKey'"
    state["wrong"] = False
    assert grading.evaluate("77.2", ctx).outcome is grading.Outcome.CORRECT
    grading.hint("77.2")
    assert "Hint 1 of 1 for 77.2" in capsys.readouterr().out


def test_a_question_is_answered_in_the_notebook_and_graded_with_why(scratch_exercises, ctx, capsys):
    grading.question(
        "77.q1",
        "Two kinds of twice",
        asked_in="solutions/00_first_steps.ipynb",
        answer="b",
        why={
            "a": "a redelivery is the same upload, not a duplicate",
            "b": "only another upload of the same content is a duplicate",
            "c": "the key alone cannot tell a re-sent file",
        },
        hints=("Which of them is the same upload?",),
    )
    assert grading.evaluate("77.q1", ctx).outcome is grading.Outcome.NOT_ATTEMPTED
    assert "set q1 = one of 'a', 'b', 'c'" in grading.evaluate("77.q1", ctx).message
    ctx.namespace["q1"] = "A"
    wrong = grading.evaluate("77.q1", ctx)
    assert (
        wrong.outcome is grading.Outcome.INCORRECT
        and wrong.message == "not 'a': a redelivery is the same upload, not a duplicate"
    )
    ctx.namespace["q1"] = "z"
    assert "is not one of the choices" in grading.evaluate("77.q1", ctx).message
    ctx.namespace["q1"] = "b"
    right = grading.evaluate("77.q1", ctx)
    assert right.outcome is grading.Outcome.CORRECT and "only another upload" in right.message
    grading.hint("77.q1")
    grading.hint("77.q1")
    assert "the answer is 'b': only another upload" in capsys.readouterr().out
    with pytest.raises(ValueError):
        grading.question("77.q2", "Bad", asked_in="x", answer="d", why={"a": "."}, hints=("h",))


def test_a_labs_report_counts_its_questions_and_not_the_walkthroughs(scratch_exercises, ctx, monkeypatch):
    @grading.exercise("77.1", "A task", solution="77_lab.ipynb", hints=("h",))
    def task(ctx):
        return "done"

    grading.question(
        "77.q1",
        "Asked in the walkthrough",
        asked_in="notebooks/77_walkthrough.ipynb",
        answer="a",
        why={"a": "yes", "b": "no"},
        hints=("h",),
    )
    grading.question(
        "77.q2",
        "Asked in the lab",
        asked_in="solutions/77_lab.ipynb",
        answer="a",
        why={"a": "yes", "b": "no"},
        hints=("h",),
    )
    monkeypatch.setattr(grading, "notebook_context", lambda: ctx)
    monkeypatch.setattr(grading.progress, "record", lambda *args, **kwargs: None)
    ctx.namespace["q2"] = "a"
    report = grading.report("77")
    assert [v.exercise for v in report.verdicts] == ["77.1", "77.q2"] and report.correct == 2
    assert [q.id for q in grading.questions("77")] == ["77.q1", "77.q2"]
    assert [e.id for e in grading.exercises("77")] == ["77.1"], "setup and catch-up complete tasks, not questions"
