"""``python -m workshop``: one command line for every command, its usage and errors one clear line."""

import functools
import re

import pytest

from tests.conftest import free_port, local_environment, run_script
from workshop import cli
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.teaching import build, notebook_outputs

COMMANDS = ("setup", "teardown", "serve", "start", "stop", "status", "env", "lab", "reset", "labs", "outputs")
PARTICIPANT_OPTIONS = ("--prefix", "--participants", "--roster", "--prefixes", "--workers", "--yes")
OPTIONS = {
    "setup": (*PARTICIPANT_OPTIONS, "--upto", "--connect-host", "--no-progress"),
    "teardown": (*PARTICIPANT_OPTIONS, "--dry-run"),
}


@pytest.fixture
def env(tmp_path):
    """A process environment pointing at an emulator nobody started: usage needs no backend."""
    return local_environment(free_port(), tmp_path)


def test_no_command_prints_the_usage_with_every_command_and_exits_2(env):
    result = run_script(env, "-m", "workshop")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("usage: python -m workshop")
    listed = re.findall(r"^    (\w+) ", result.stderr.split("commands:", 1)[1], re.MULTILINE)
    assert tuple(listed) == COMMANDS


def test_an_unknown_command_is_one_clear_line(env):
    result = run_script(env, "-m", "workshop", "setpu", "--prefix", "ana")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: 'setpu' is not a command; the commands are setup,"), lines


def test_an_unknown_option_names_its_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["status", "--bogus"])
    assert exit_.value.code == 2
    assert "python -m workshop status: error: unrecognized arguments: --bogus" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["setup", "teardown"])
def test_setup_and_teardown_help_list_their_options_under_both_names(env, command):
    for args, usage in (
        (["-m", "workshop", command], f"usage: python -m workshop {command} "),
        ([f"{command}_env.py"], f"usage: {command}_env.py "),
    ):
        result = run_script(env, *args, "--help")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(usage), result.stdout
        for option in OPTIONS[command]:
            assert f"  {option}" in result.stdout, (args, option)


def test_a_shim_reports_a_bad_option_under_its_own_name(env):
    result = run_script(env, "teardown_env.py", "--bogus")
    assert result.returncode == 2
    assert "teardown_env.py: error: unrecognized arguments: --bogus" in result.stderr


def test_labs_regenerates_the_committed_labs_identically(tmp_path, monkeypatch, capsys):
    generated = tmp_path / "labs"
    monkeypatch.setattr(build, "build", functools.partial(build.build, ROOT / "solutions", generated))
    assert cli.main(["labs"]) == 0
    written = sorted(path.name for path in generated.glob("*.ipynb"))
    assert capsys.readouterr().out.strip() == f"{len(written)} lab(s) written"
    assert written == sorted(path.name for path in (ROOT / "labs").glob("*.ipynb"))
    for name in written:
        assert (generated / name).read_bytes() == (ROOT / "labs" / name).read_bytes(), name
    assert cli.main(["labs", "--check"]) == 0
    assert capsys.readouterr().out.strip() == "labs/ is up to date."
    (generated / written[0]).write_text("{}")
    assert cli.main(["labs", "--check"]) == 1
    assert capsys.readouterr().err.strip() == f"labs/ is out of date for: {written[0]}; run 'make labs'."


def test_labs_check_through_the_command_line(env):
    result = run_script(env, "-m", "workshop", "labs", "--check")
    assert result.returncode == 0 and result.stdout.strip() == "labs/ is up to date.", result.stdout + result.stderr


def test_outputs_refreshes_the_given_notebooks_or_every_one(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(notebook_outputs, "refresh", lambda paths, force: calls.append((paths, force)))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["outputs", "mine.ipynb", "--force"]) == 0
    assert calls.pop() == ([(tmp_path / "mine.ipynb").resolve()], True)
    assert cli.main(["outputs"]) == 0
    paths, force = calls.pop()
    assert not force and {p.parent.name for p in paths} == {"notebooks", "solutions"}
    assert ROOT / "notebooks" / "00_getting_started.ipynb" in paths


def test_a_failing_cell_stops_outputs_with_exit_1(monkeypatch, capsys):
    from nbclient.exceptions import CellExecutionError

    def refresh(paths, force):
        raise CellExecutionError("boom", "NameError", "name 'x' is not defined")

    monkeypatch.setattr(notebook_outputs, "refresh", refresh)
    assert cli.main(["outputs", "x.ipynb"]) == 1
    assert capsys.readouterr().err.startswith("error: a cell failed, nothing more was written:")


def test_make_labs_and_outputs_call_the_command_line():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^labs: \$\(STAMP\)\n\t\$\(PY\) -m workshop labs$", makefile, re.MULTILINE)
    assert re.search(r"^outputs: \$\(STAMP\)\n\t\$\(PY\) -m workshop outputs ", makefile, re.MULTILINE)
