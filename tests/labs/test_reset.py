"""A learner who broke their environment starts a step again with one command or cell."""

from __future__ import annotations

import pytest

from tests.conftest import run_script
from workshop.account import inventory
from workshop.core import backend as backends
from workshop.core.errors import WorkshopError
from workshop.teaching import grading, progress, steps


def _outcomes(backend, prefix, tmp_path, *labs: str) -> dict[str, grading.Outcome]:
    context = grading.Context(aws=backend, names=backend.names(prefix), workdir=tmp_path)
    return {e.id: grading.evaluate(e.id, context).outcome for lab in labs for e in grading.exercises(lab)}


def test_reset_restores_the_start_of_a_step(backend, in_process_backend, prefix, tmp_path, monkeypatch):
    """Reset to step 2: steps 0 and 1 correct again and step 2 as setup --upto 2 leaves it, whatever
    the learner broke or half-built; in class mode the dashboard shows them back at step 2."""
    class_ = f"{prefix}-c"
    progress.ensure_table(backend, class_)
    monkeypatch.setenv("WORKSHOP_CLASS", class_)
    steps.reset(2, backend, prefix)
    start = _outcomes(backend, prefix, tmp_path, "0", "1", "2")
    assert {e: o for e, o in start.items() if not e.startswith("2.")} == dict.fromkeys(
        [e for e in start if not e.startswith("2.")], grading.Outcome.CORRECT
    )
    # what setup_env.py --upto 2 gives: the step's first exercise untouched (2.2 then says it needs 2.1)
    assert start["2.1"] is grading.Outcome.NOT_ATTEMPTED and grading.Outcome.CORRECT not in {
        o for e, o in start.items() if e.startswith("2.")
    }

    # broken: the step-1 trigger is gone, a half-built step-2 table is there, a check recorded it
    names = backend.names(prefix)
    backend.client("s3").put_bucket_notification_configuration(
        Bucket=names.bucket("incoming"), NotificationConfiguration={}
    )
    dynamodb = backend.client("dynamodb")
    dynamodb.create_table(
        TableName=names.table("documents-received"),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "Key", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "Key", "KeyType": "HASH"}],
        Tags=[{"Key": "workshop:env", "Value": prefix}],
    )
    progress.write(dynamodb, class_, progress.Record(prefix, "2.1", "t", progress.INCORRECT, "wrong key"))
    broken = _outcomes(backend, prefix, tmp_path, "1", "2")
    assert broken["1.2"] is not grading.Outcome.CORRECT and broken["2.1"] is grading.Outcome.INCORRECT

    rows = steps.reset(2, backend, prefix)
    assert f"{prefix}-documents-received" in set(rows[rows["status"] == "deleted"]["name"])
    assert _outcomes(backend, prefix, tmp_path, "0", "1", "2") == start
    recorded = {r["exercise"]: r for r in progress.records(backend, class_) if r["participant"] == prefix}
    assert not [e for e in recorded if e.startswith("2.")], "progress from step 2 on is forgotten"
    assert {r["outcome"] for r in recorded.values()} == {progress.CORRECT}
    assert {r["source"] for r in recorded.values()} == {progress.SETUP}


def test_reset_from_the_command_line(emulator, backend, prefix):
    assert run_script(emulator, "setup_env.py", "--prefix", prefix).returncode == 0
    names = backend.names(prefix)
    backend.client("s3").create_bucket(Bucket=names.bucket("scratch"))
    backend.client("s3").put_bucket_tagging(
        Bucket=names.bucket("scratch"), Tagging={"TagSet": [{"Key": "workshop:env", "Value": prefix}]}
    )
    backend.client("s3").delete_bucket(Bucket=names.bucket("error"))  # broken by hand
    result = run_script(emulator, "-m", "workshop", "reset", "--step", "0", "--prefix", prefix)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{prefix} reset to the start of step 0" in result.stdout
    kept = {f.name for f in inventory.find(backend, names)}
    assert names.bucket("error") in kept and names.bucket("scratch") not in kept
    assert run_script(emulator, "teardown_env.py", "--prefix", prefix).returncode == 0


def test_reset_refuses_a_real_account_without_confirmation_and_an_impossible_step():
    real = backends.Backend(backends.AWS, None, "eu-west-1")
    with pytest.raises(WorkshopError, match="REAL AWS account: pass yes=True"):
        steps.reset(1, real, "ana")
    with pytest.raises(WorkshopError, match="--upto can be at most"):
        steps.reset(99, real, "ana", yes=True)
