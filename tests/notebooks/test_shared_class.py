"""A class on one shared emulator, end to end: the labs still work when each participant reaches
their own resources only.

The instructor serves the emulator beyond loopback and runs ``setup_env.py --connect-host`` as
INSTRUCTOR.md says; a participant pastes their connection line (their own key included) and runs
every solution notebook. Each runs without an error, every exercise scores "correct", and the
class's progress table holds the participant's records, written with the participant's own key.
"""

from __future__ import annotations

import shlex

import pytest
from botocore.exceptions import ClientError

from tests.conftest import emulator_process, run_script
from tests.notebooks.test_notebooks import CHECK_CALL, SOLUTIONS, errors_of, notebook_id, private_copy, run_in_kernel
from workshop.core import backend as backends
from workshop.core.errors import error_code
from workshop.core.launcher import INSTRUCTOR_ACCESS_KEY
from workshop.core.waiting import wait_for
from workshop.teaching import progress


@pytest.fixture(scope="module")
def participant_line(tmp_path_factory):
    state = tmp_path_factory.mktemp("shared-class")
    with emulator_process(state, serve_args=("--host", "0.0.0.0")) as env:
        setup = run_script(env, "setup_env.py", "--participants", "1", "--prefix", "sc", "--connect-host", "127.0.0.1")
        assert setup.returncode == 0, setup.stdout + setup.stderr
        line = next(text for text in setup.stdout.splitlines() if "export " in text)
        variables = dict(pair.split("=", 1) for pair in shlex.split(line.split("export ", 1)[1]))
        assert variables["WORKSHOP_ACCESS_KEY_ID"] and variables["WORKSHOP_SECRET_ACCESS_KEY"]
        participant = {name: value for name, value in env.items() if name != "WORKSHOP_PORT"}
        participant.update(variables)
        token = (state / f"admin-token-{env['WORKSHOP_PORT']}").read_text().strip()
        instructor = backends.Backend(
            backends.ENDPOINT, variables["AWS_ENDPOINT_URL"], backends.LOCAL_REGION, (INSTRUCTOR_ACCESS_KEY, token)
        )
        yield participant, instructor, env


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", SOLUTIONS, ids=notebook_id)
def test_a_participant_of_a_shared_class_completes_every_solution(path, participant_line, tmp_path):
    env, instructor, _ = participant_line
    notebook = run_in_kernel(private_copy(path, tmp_path), env)
    assert errors_of(notebook) == [], f"{notebook_id(path)} failed as a class participant"
    exercises = {
        m["id"] for cell in notebook.cells if cell.cell_type == "code" for m in CHECK_CALL.finditer(cell.source)
    }
    assert exercises, f"{notebook_id(path)} checks nothing"

    def recorded() -> dict[str, str]:
        rows = progress.records(instructor, env["WORKSHOP_CLASS"])
        return {r["exercise"]: r["outcome"] for r in rows if r["participant"] == env["WORKSHOP_PREFIX"]}

    # the kernel sends its records in the background: they may land just after it stops
    wait_for(lambda: exercises <= recorded().keys(), f"the progress records of {notebook_id(path)}", timeout=20)
    assert {exercise: recorded()[exercise] for exercise in exercises} == dict.fromkeys(exercises, "correct")


def test_class_teardown_revokes_the_participants_key(participant_line):
    participant, instructor, env = participant_line
    key = (participant["WORKSHOP_ACCESS_KEY_ID"], participant["WORKSHOP_SECRET_ACCESS_KEY"])
    learner = backends.Backend(backends.ENDPOINT, participant["AWS_ENDPOINT_URL"], backends.LOCAL_REGION, key)
    assert learner.client("sqs").list_queues().get("QueueUrls"), "the participant's queues, seen with their key"
    done = run_script(env, "teardown_env.py", "--participants", "1", "--prefix", "sc", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "access key" in done.stdout and "sc-01-participant" in done.stdout
    with pytest.raises(ClientError) as refused:
        learner.client("sqs").list_queues()
    assert error_code(refused.value) == "InvalidClientTokenId"
    assert "sc-01-participant" not in {u["UserName"] for u in instructor.client("iam").list_users()["Users"]}


def test_laptops_send_their_progress_to_the_instructor_signed_with_their_own_key(tmp_path):
    """The laptop mode: each learner's own emulator, progress to the instructor's dashboard."""
    with emulator_process(tmp_path, serve_args=("--host", "0.0.0.0")) as env:
        setup = run_script(
            env, "setup_env.py", "--participants", "2", "--prefix", "lp", "--connect-host", "127.0.0.1", "--laptops"
        )
        assert setup.returncode == 0, setup.stdout + setup.stderr
        lines = [text.split("export ", 1)[1] for text in setup.stdout.splitlines() if "export " in text]
        first, second = (dict(pair.split("=", 1) for pair in shlex.split(line)) for line in lines)
        assert "WORKSHOP_BACKEND" not in first and first["WORKSHOP_PROGRESS_ENDPOINT"].startswith("http://127.0.0.1:")
        dynamodb = progress.progress_backend(first).client("dynamodb")
        record = progress.Record(first["WORKSHOP_PREFIX"], "1.1", "a title", progress.CORRECT)
        progress.write(dynamodb, "lp", record)
        forged = progress.Record(second["WORKSHOP_PREFIX"], "1.1", "a title", progress.CORRECT)
        with pytest.raises(ClientError) as refused:
            progress.write(dynamodb, "lp", forged)
        assert error_code(refused.value) == "AccessDeniedException"
        token = (tmp_path / f"admin-token-{env['WORKSHOP_PORT']}").read_text().strip()
        instructor = backends.Backend(
            backends.ENDPOINT,
            first["WORKSHOP_PROGRESS_ENDPOINT"],
            backends.LOCAL_REGION,
            (INSTRUCTOR_ACCESS_KEY, token),
        )
        assert [(r["participant"], r["outcome"]) for r in progress.records(instructor, "lp")] == [
            (first["WORKSHOP_PREFIX"], progress.CORRECT)
        ]
        assert instructor.client("s3").list_buckets()["Buckets"] == [], "no environment made on this machine"
