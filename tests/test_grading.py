"""Checks answer correct / incorrect / not attempted from real backend state, with messages a
learner can act on; hints come in order; the report rechecks everything; a broken check or
backend is reported as such, never as a traceback or a wrong verdict."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.conftest import free_port
from workshop import backend as backends
from workshop import grading
from workshop.checks import lab00_first_steps as lab00
from workshop.deploy import deploy_function
from workshop.errors import WorkshopError

ROOT = Path(__file__).resolve().parents[1]
GOOD_HANDLER = ('import csv, io\nimport boto3\ns3 = boto3.client("s3")\n'
                'def handler(event, context):\n'
                '    body = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read().decode()\n'
                '    rows = list(csv.DictReader(io.StringIO(body)))\n'
                '    return {"orders": len(rows), "total": round(sum(float(r["amount"]) for r in rows), 2)}\n')


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
    ctx.client("s3").put_object(Bucket=bucket, Key="orders/first.csv", Body=b"order_id,amount\n1,2.50\n",
                                 ContentType="text/csv")
    deploy_handler(ctx, handler_cell("solutions"))
    for exercise_id in ("0.1", "0.2", "0.3"):
        assert outcome(ctx, exercise_id)[0] is grading.Outcome.CORRECT, outcome(ctx, exercise_id)
    assert "checks/" not in str(ctx.client("s3").list_objects_v2(Bucket=bucket).get("Contents")), \
        "the 0.3 check removes its test file"


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


@pytest.mark.parametrize("body, expected", [
    # the typical mistake: every line is an order, the header too
    ('    lines = body.strip().split("\\n")\n    return {"orders": len(lines), "total": 19.75}\n',
     "header is not an order"),
    ('    return {"orders": 3, "total": sum(float(l.split(",")[1]) for l in body.split("\\n")[1:] if l) + 1}\n',
     "expected 19.75"),
    ('    return None\n', "run the deploy cell again"),
    ('    return ["3"]\n', "a dict with 'orders' and 'total'"),
    ('    raise ValueError("cannot parse " + event["key"])\n', "failed with ValueError: cannot parse checks/0.3"),
])
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


def test_an_unreachable_backend_is_said_plainly(ctx, tmp_path):
    gone = backends.from_environment({"WORKSHOP_BACKEND": "embedded", "WORKSHOP_PORT": str(free_port()),
                                      "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
    verdict = grading.evaluate("0.1", grading.Context(aws=gone, names=ctx.names, workdir=tmp_path))
    assert verdict.outcome is grading.Outcome.ERROR and "python -m workshop start" in verdict.message


def test_unknown_exercise_is_one_line_not_a_traceback(capsys):
    with pytest.raises(WorkshopError, match=r"no exercise '9.9'; the exercises are 9.1, 9.2\."):
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
    assert lines[0] == "Lab 0 score: 1 of 3 correct" and len(lines) == 4
    assert lines[1].startswith("✅ 0.1 A bucket of your own: correct — ")
    assert "<table" in report._repr_html_() and "not attempted" in report._repr_html_()
    assert grading.report("42").startswith("⚠️ There is no lab '42'")


def test_checks_are_registered_once_with_hints_and_solution():
    registered = grading.exercises()
    assert [e.id for e in grading.exercises("0")] == ["0.1", "0.2", "0.3"]
    for found in registered:
        assert found.hints and (ROOT / "solutions" / found.solution).is_file(), found.id
    assert lab00.SOLUTION == "00_first_steps.ipynb"
