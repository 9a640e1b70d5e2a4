"""setup_env.py and teardown_env.py (python -m workshop setup / teardown) as a learner and an instructor run them."""

import os

import pytest

from tests.conftest import free_port, run_script
from workshop import cli
from workshop.account import environment, inventory
from workshop.core.errors import WorkshopError

BASE_COUNT = len(environment.BASE_RESOURCES)
# each command under both of its names: the documented script and the one command line
SETUP_AND_TEARDOWN = (
    ("setup_env.py",),
    ("teardown_env.py",),
    ("-m", "workshop", "setup"),
    ("-m", "workshop", "teardown"),
)


def _one_error_line(result):
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_setup_twice_then_teardown(emulator, backend, prefix):
    first = run_script(emulator, "setup_env.py", "--prefix", prefix)
    assert first.returncode == 0, first.stderr
    assert f"{BASE_COUNT} of {BASE_COUNT} resources created" in first.stdout
    assert f"{prefix}-incoming" in first.stdout

    second = run_script(emulator, "setup_env.py", "--prefix", prefix)
    assert second.returncode == 0, second.stderr
    assert f"Nothing to do: all {BASE_COUNT} resources of '{prefix}' already exist." in second.stdout

    dry = run_script(emulator, "teardown_env.py", "--prefix", prefix, "--dry-run")
    assert dry.returncode == 0 and f"{BASE_COUNT} resources would be deleted" in dry.stdout
    assert len(inventory.find(backend, backend.names(prefix))) == BASE_COUNT, "a dry run deletes nothing"

    gone = run_script(emulator, "teardown_env.py", "--prefix", prefix)
    assert gone.returncode == 0 and f"{BASE_COUNT} resources deleted" in gone.stdout
    assert inventory.find(backend, backend.names(prefix)) == []
    again = run_script(emulator, "teardown_env.py", "--prefix", prefix)
    assert again.returncode == 0 and f"Nothing to delete for {prefix}." in again.stdout


def test_the_command_line_sets_up_and_tears_down_as_the_scripts_do(emulator, backend, prefix):
    setup = run_script(emulator, "-m", "workshop", "setup", "--prefix", prefix)
    assert setup.returncode == 0, setup.stderr
    assert f"Environment of '{prefix}' ready: {BASE_COUNT} of {BASE_COUNT} resources created" in setup.stdout
    gone = run_script(emulator, "-m", "workshop", "teardown", "--prefix", prefix)
    assert gone.returncode == 0 and f"{BASE_COUNT} resources deleted for 1 of 1 participants." in gone.stdout
    assert inventory.find(backend, backend.names(prefix)) == []


def test_prefix_comes_from_the_environment(emulator, backend, prefix):
    result = run_script({**emulator, "WORKSHOP_PREFIX": prefix}, "setup_env.py")
    assert result.returncode == 0, result.stderr
    assert len(inventory.find(backend, backend.names(prefix))) == BASE_COUNT
    run_script({**emulator, "WORKSHOP_PREFIX": prefix}, "teardown_env.py")
    assert inventory.find(backend, backend.names(prefix)) == []


@pytest.mark.slow
def test_a_class_of_ten_is_provisioned_isolated_and_torn_down(emulator, backend, prefix):
    setup = run_script(emulator, "setup_env.py", "--participants", "10", "--prefix", prefix)
    assert setup.returncode == 0, setup.stderr
    assert "10 of 10 participants ready." in setup.stdout
    assert f"WORKSHOP_PREFIX={prefix}-10" in setup.stdout
    members = [f"{prefix}-{i:02d}" for i in range(1, 11)]
    for member in members:
        found = inventory.find(backend, backend.names(member))
        assert len(found) == BASE_COUNT and all(f.name.startswith(f"{member}-") for f in found)

    one = run_script(emulator, "teardown_env.py", "--prefix", members[2])
    assert one.returncode == 0
    assert inventory.find(backend, backend.names(members[2])) == []
    for member in members[:2] + members[3:]:
        assert len(inventory.find(backend, backend.names(member))) == BASE_COUNT, member

    rest = run_script(emulator, "teardown_env.py", "--participants", "10", "--prefix", prefix)
    assert rest.returncode == 0, rest.stderr
    assert f"{BASE_COUNT * 9} resources deleted for 10 of 10 participants." in rest.stdout
    for member in members:
        assert inventory.find(backend, backend.names(member)) == []


def test_a_class_teardown_leaves_a_participant_named_like_the_class(emulator, backend, prefix):
    """Participant ``<p>`` (prefix and tag ``<p>``) and class ``<p>`` (its progress table is
    ``<p>-progress``, tagged ``<p>``): the class's teardown removes its members and its table only."""
    alone = run_script(emulator, "setup_env.py", "--prefix", prefix)
    assert alone.returncode == 0, alone.stderr
    mine = inventory.find(backend, backend.names(prefix))
    assert len(mine) == BASE_COUNT
    klass = run_script(emulator, "setup_env.py", "--participants", "1", "--prefix", prefix)
    assert klass.returncode == 0, klass.stderr

    gone = run_script(emulator, "teardown_env.py", "--participants", "1", "--prefix", prefix)
    assert gone.returncode == 0, gone.stderr
    assert "1 resources of the class" in gone.stdout and f"{prefix}-progress" in gone.stdout
    assert inventory.find(backend, backend.names(f"{prefix}-01")) == []
    assert inventory.find(backend, backend.names(prefix)) == mine
    run_script(emulator, "teardown_env.py", "--prefix", prefix)


def test_prefixes_list(emulator, backend, prefix):
    result = run_script(emulator, "setup_env.py", "--prefixes", f"{prefix}-ana,{prefix}-bo")
    assert result.returncode == 0 and "2 of 2 participants ready." in result.stdout
    run_script(emulator, "teardown_env.py", "--prefixes", f"{prefix}-ana,{prefix}-bo")
    assert inventory.find(backend, backend.names(f"{prefix}-ana")) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--prefix", "Bad_Name"], "Invalid participant prefix 'Bad_Name'"),
        (["--prefixes", "ok,ok"], "names a participant twice"),
        (["--participants", "0"], "at least 1"),
        (["--prefix", ""], "--prefix is empty"),
        (["--participants", "2", "--workers", "0"], "--workers 0: at least 1"),
    ],
)
def test_bad_input_is_one_clear_line(emulator, args, message):
    for command in SETUP_AND_TEARDOWN:
        assert message in _one_error_line(run_script(emulator, *command, *args))


@pytest.mark.parametrize("host", ["http://10.0.0.5:9999/", "10.0.0.5:4566", "lab pc", ""])
def test_a_connect_host_that_is_not_an_address_is_one_clear_line(emulator, backend, prefix, host):
    result = run_script(emulator, "setup_env.py", "--participants", "1", "--prefix", prefix, "--connect-host", host)
    assert "give this machine's address only" in _one_error_line(result)
    assert inventory.find(backend, backend.names(f"{prefix}-01")) == []  # refused before anything was created


def test_status_and_reset_refuse_an_empty_prefix(emulator):
    for command in (["-m", "workshop", "status"], ["-m", "workshop", "reset", "--step", "1"]):
        assert "--prefix is empty" in _one_error_line(run_script(emulator, *command, "--prefix", ""))


def test_an_unreachable_endpoint_is_one_clear_line(emulator):
    env = {**emulator, "WORKSHOP_BACKEND": "endpoint", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    line = _one_error_line(run_script(env, "setup_env.py", "--prefix", "ana"))
    assert "Cannot reach the endpoint" in line


def test_real_aws_without_credentials_is_one_clear_line(emulator):
    env = {**emulator, "WORKSHOP_BACKEND": "aws", "AWS_DEFAULT_REGION": "eu-west-1"}
    for script in ("setup_env.py", "teardown_env.py"):
        line = _one_error_line(run_script(env, script, "--prefix", "ana"))
        assert "No AWS credentials found" in line


def test_real_aws_asks_before_changing_anything(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", open(os.devnull))
    with pytest.raises(WorkshopError, match="re-run with --yes"):
        cli.confirm("This will DELETE resources of ana in the REAL AWS account.", yes=False)
    cli.confirm("This will DELETE resources of ana in the REAL AWS account.", yes=True)
    assert "REAL AWS account" in capsys.readouterr().out


def test_a_typed_no_cancels(monkeypatch):
    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(WorkshopError, match="Cancelled"):
        cli.confirm("real account", yes=False)


def test_upto_finishes_the_steps_before_for_a_class(emulator, backend, prefix, tmp_path):
    """--upto 2 runs the solutions of steps 0 and 1 per participant, in parallel, checked."""
    from workshop.teaching import grading, steps

    result = run_script(emulator, "setup_env.py", "--prefixes", f"{prefix}-a,{prefix}-b", "--upto", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 of 2 participants ready." in result.stdout
    for member in (f"{prefix}-a", f"{prefix}-b"):
        context = grading.Context(aws=backend, names=backend.names(member), workdir=tmp_path)
        verdicts = [grading.evaluate(e.id, context) for e in grading.exercises("0") + grading.exercises("1")]
        assert all(v.outcome is grading.Outcome.CORRECT for v in verdicts), [v.line for v in verdicts]
    teardown = run_script(emulator, "teardown_env.py", "--prefixes", f"{prefix}-a,{prefix}-b")
    assert teardown.returncode == 0
    assert inventory.find(backend, backend.names(f"{prefix}-a")) == []
    assert [p.name for p in steps.solutions_before(2)] == ["00_first_steps.ipynb", "01_s3_trigger.ipynb"]


def test_upto_beyond_the_existing_solutions_is_refused_before_anything_is_created(emulator, backend, prefix):
    line = _one_error_line(run_script(emulator, "setup_env.py", "--prefix", prefix, "--upto", "99"))
    assert "--upto can be at most" in line
    assert inventory.find(backend, backend.names(prefix)) == []


def test_upto_the_capstone_completes_every_step_before_it_and_teardown_removes_it_all(
    emulator, backend, prefix, tmp_path
):
    """--upto 9 runs the solutions of steps 0 to 8 in one kernel: each of their checks is then correct."""
    from workshop.teaching import grading

    result = run_script(emulator, "setup_env.py", "--prefix", prefix, "--upto", "9")
    assert result.returncode == 0, result.stdout + result.stderr
    context = grading.Context(aws=backend, names=backend.names(prefix), workdir=tmp_path)
    verdicts = [grading.evaluate(e.id, context) for e in grading.exercises() if int(e.lab) < 9]
    assert {v.exercise.split(".")[0] for v in verdicts} == {str(n) for n in range(9)}
    # setup confirmed every check in its own folder; from here, an exercise judged on a file the
    # solution wrote there (a worker module) can only say that file is not in this folder
    elsewhere = [
        v for v in verdicts if v.outcome is grading.Outcome.NOT_ATTEMPTED and "there is no handlers/" in v.message
    ]
    assert [v.line for v in verdicts if v.outcome is not grading.Outcome.CORRECT and v not in elsewhere] == []
    assert len(elsewhere) <= 1
    assert run_script(emulator, "teardown_env.py", "--prefix", prefix).returncode == 0
    assert inventory.find(backend, backend.names(prefix)) == []
