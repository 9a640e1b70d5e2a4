"""Every notebook stays honest: stored outputs reproduce, labs start untouched, solutions score.

- notebooks/ and solutions/ run under nbval against their stored outputs (masked by
  workshop/teaching/nbval_sanitize.cfg), each as a participant of its own, then run a second time on the
  same environment, as a learner who runs everything again would;
- labs/ run top to bottom with no error and every check "not attempted";
- solutions store a "correct" verdict for every exercise of their lab;
- no committed output carries credentials, a real account id or a machine path.

One notebook alone: ``make test PYTEST_ARGS="tests/notebooks/test_notebooks.py -k 00_first_steps"``.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import emulator_stats
from tests.lambda_helpers import log_messages
from workshop.account import environment
from workshop.core import backend as backends
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.lab_helpers import chaos
from workshop.teaching import grading
from workshop.teaching.notebook_outputs import SANITIZE_FILE

SANITIZE = SANITIZE_FILE
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LABS = sorted((ROOT / "labs").glob("*.ipynb"))
CHECK_CALL = re.compile(r"""^\s*check\(\s*["'](?P<id>\d+\.q?\d+)["']\s*\)""", re.MULTILINE)
REPORT_CALL = re.compile(r"""^\s*report\(\s*["'](?P<lab>\d+)["']\s*\)""", re.MULTILINE)
_runs = itertools.count(1)


def notebook_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def ci_prefix(path: Path) -> str:
    """``ci<NN><n|s|l><run>``: as long as ``learner``, so tables keep their stored layout
    once the sanitize file maps it back to ``learner``."""
    return f"ci{path.name[:2]}{path.parent.name[0]}{next(_runs) % 100:02d}"


def private_copy(path: Path, workdir: Path) -> Path:
    """The notebook in a folder of its own, where its cells write their handlers: notebooks of
    one folder write handlers of the same name (solutions 01 to 03 each their digester.py), and
    the suite runs notebooks side by side."""
    folder = workdir / path.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(path, folder / path.name))


def run_in_kernel(path: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    try:
        client.execute(env=env)
    except Exception as error:
        raise AssertionError(f"{error}\n\nThe emulator then:\n{participant_view(env)}") from error
    return notebook


def participant_view(env: dict[str, str], lines: int = 12) -> str:
    """What a failed run leaves to read: the participant's event-source mappings, invocations
    and the last log lines of each of their functions (a stall says nothing by itself)."""
    try:
        aws = backends.from_environment(env)
        prefix, lam, logs = env["WORKSHOP_PREFIX"], aws.client("lambda"), aws.client("logs")
        stats = emulator_stats(aws.endpoint_url)
        view = [f"idle: {stats['idle']}"]
        for mapping in lam.list_event_source_mappings()["EventSourceMappings"]:
            if f":function:{prefix}-" in mapping["FunctionArn"]:
                counts = stats["mappings"].get(mapping["UUID"], {})
                view.append(f"mapping {mapping['UUID']} -> {mapping['FunctionArn']}: {mapping['State']}, {counts}")
        view += [f"invocations {name}: {counts}" for name, counts in stats["invocations"].items() if prefix in name]
        for group in logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}-")["logGroups"]:
            function = group["logGroupName"].removeprefix("/aws/lambda/")
            view += [f"{function}:"] + [f"  {line.rstrip()}" for line in log_messages(aws, function)[-lines:]]
        return "\n".join(view)
    except Exception as failure:  # the report of a failure must not hide it
        return f"(not readable: {failure!r})"


def run_nbval(path: Path, env: dict[str, str], *options: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """nbval in a process of its own, with the kernel of this environment and our masks."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            str(SANITIZE),
            *options,
            str(path),
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def errors_of(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        f"{o.ename}: {o.evalue}"
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]


def text_of(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def verdict_lines(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """Exercise id -> the verdict line its check cell printed."""
    verdicts = {}
    for cell in notebook.cells:
        match = cell.cell_type == "code" and CHECK_CALL.search(cell.source)
        if match:
            verdicts[match["id"]] = text_of(cell).strip()
    return verdicts


@pytest.fixture
def participant(backend, emulator):
    """Provision the base environment for a notebook's own participant; returns its prefix.
    The teaching switches start off: a notebook stopped inside a chaos block (a timeout) must
    not hand its injected failures to the next one."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{emulator['WORKSHOP_PORT']}/_workshop/chaos",
        data=json.dumps(chaos.OFF).encode(),
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()

    def provision(path: Path) -> str:
        prefix = ci_prefix(path)
        environment.provision(backend, backend.names(prefix))
        return prefix

    return provision


@pytest.mark.timeout(900)  # two Run Alls of the longest notebook on a busy machine
@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=notebook_id)
def test_stored_outputs_reproduce_and_a_second_run_works(path, emulator, participant, tmp_path):
    env = {**emulator, "WORKSHOP_PREFIX": participant(path)}
    copy = private_copy(path, tmp_path)
    nbval = run_nbval(copy, env, "--rootdir", str(tmp_path), cwd=tmp_path)
    assert nbval.returncode == 0, f"nbval failed for {notebook_id(path)}:\n{nbval.stdout[-6000:]}"
    again = run_in_kernel(copy, env)
    assert not errors_of(again), f"a second Run All failed: {errors_of(again)}"
    if path.parent.name == "solutions":
        assert all("correct —" in line for line in verdict_lines(again).values()), verdict_lines(again)


@pytest.mark.parametrize("path", LABS, ids=notebook_id)
def test_untouched_lab_runs_and_reports_not_attempted(path, emulator, participant, tmp_path):
    notebook = run_in_kernel(private_copy(path, tmp_path), {**emulator, "WORKSHOP_PREFIX": participant(path)})
    assert not errors_of(notebook)
    verdicts = verdict_lines(notebook)
    assert verdicts, f"{path.name} has no check cells"
    for exercise_id, line in verdicts.items():
        assert "not attempted —" in line, f"untouched {exercise_id} says: {line}"
    reports = [text_of(c) for c in notebook.cells if c.cell_type == "code" and REPORT_CALL.search(c.source)]
    assert reports and f"score: 0 of {len(verdicts)} correct" in reports[-1]


@pytest.mark.parametrize("path", SOLUTIONS, ids=notebook_id)
def test_solution_checks_every_exercise_of_its_lab_and_stores_correct(path):
    notebook = nbformat.read(path, as_version=4)
    labs = {m["lab"] for c in notebook.cells if c.cell_type == "code" for m in REPORT_CALL.finditer(c.source)}
    assert len(labs) == 1, f"{path.name} should end with one report(...) cell"
    lab = labs.pop()
    registered = {e.id for e in grading.exercises(lab) + grading.questions(lab, asked_in=f"solutions/{path.name}")}
    verdicts = verdict_lines(notebook)
    assert set(verdicts) == registered, "every registered exercise has one check cell, and only those"
    for exercise_id, line in verdicts.items():
        assert f"{exercise_id} " in line and "correct —" in line and "incorrect" not in line, line
    assert all(e.solution == path.name for e in grading.exercises() if e.id in registered)


# Secrets and identities that must never be committed in a notebook.
_FORBIDDEN = {
    "an AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a secret access key": re.compile(r"(?i)secret_?access_?key\W{1,4}[A-Za-z0-9/+]{40}"),
    "a session token": re.compile(r"(?i)session_?token\W{1,4}[A-Za-z0-9/+=]{100,}"),
    "a machine path": re.compile(r"(?:/home/|/Users/|/root/|/tmp/|/work/|[A-Z]:\\\\Users|site-packages)"),
}
_PLACEHOLDER_ACCOUNTS = {"123456789012", "000000000000"}
_ACCOUNT = re.compile(r"(?<![\d.])\d{12}(?![\d.])")
# A UUID's last group is 12 hex digits, all of them decimal one time in about 300: not an account.
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")


def committed_output_problems(notebook: nbformat.NotebookNode) -> list[str]:
    problems = []
    for number, cell in enumerate(notebook.cells, 1):
        text = nbformat.writes(nbformat.from_dict({"outputs": cell.get("outputs", [])}))
        for what, pattern in _FORBIDDEN.items():
            if pattern.search(text):
                problems.append(f"cell {number}: {what}")
        for account in sorted(set(_ACCOUNT.findall(_UUID.sub("UUID", text))) - _PLACEHOLDER_ACCOUNTS):
            problems.append(f"cell {number}: account id {account}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS + LABS, ids=notebook_id)
def test_committed_outputs_carry_no_secrets_accounts_or_paths(path):
    assert committed_output_problems(nbformat.read(path, as_version=4)) == []


def test_the_scan_finds_what_it_looks_for():
    leaky = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "x",
                outputs=[
                    nbformat.v4.new_output(
                        "stream", text="AKIAIOSFODNN7EXAMPLE in /home/ana/kit, account 210987654321\n"
                    ),
                    nbformat.v4.new_output("stream", text="arn:aws:iam::123456789012:role/x is a placeholder\n"),
                    nbformat.v4.new_output("stream", text="done job-70fa243f-66ea-47e2-85c8-592994324300\n"),
                    nbformat.v4.new_output("stream", text="bucket learner-out-210987654322-us-east-1\n"),
                ],
            )
        ]
    )
    assert committed_output_problems(leaky) == [
        "cell 1: an AWS access key id",
        "cell 1: a machine path",
        "cell 1: account id 210987654321",
        "cell 1: account id 210987654322",
    ]


def test_nbval_catches_an_output_that_changed(tmp_path, emulator, participant):
    """The comparison is real: a stored output that the code no longer produces fails."""
    source = ROOT / "notebooks" / "00_getting_started.ipynb"
    notebook = nbformat.read(source, as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and c.source.startswith('print("prefix:'))
    cell.outputs[0]["text"] = cell.outputs[0]["text"].replace("incoming bucket:", "inbound bucket:")
    altered = tmp_path / source.name
    nbformat.write(notebook, altered)
    env = {**emulator, "WORKSHOP_PREFIX": participant(source)}
    nbval = run_nbval(altered, env, "--rootdir", str(tmp_path), cwd=tmp_path)
    assert nbval.returncode == 1 and "inbound bucket:" in nbval.stdout and "1 failed" in nbval.stdout


def test_a_solved_lab_with_cells_reordered_and_duplicated_still_checks_right(tmp_path, emulator, participant):
    """Checks read resources, not cells: checks moved to the end, exercises run twice, all correct."""
    source = SOLUTIONS[0]
    notebook = nbformat.read(source, as_version=4)
    checks = [c for c in notebook.cells if CHECK_CALL.search(c.source)]
    others = [c for c in notebook.cells if c not in checks]
    exercises = [c for c in others if "BEGIN SOLUTION" in c.source]
    notebook.cells = others + [copy.deepcopy(c) for c in exercises] + list(reversed(checks))
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"shuffled-{number}"
    shuffled = tmp_path / source.name
    nbformat.write(notebook, shuffled)
    result = run_in_kernel(shuffled, {**emulator, "WORKSHOP_PREFIX": participant(source)})
    assert not errors_of(result)
    lines = verdict_lines(result)
    lab = source.name[:2].lstrip("0") or "0"
    assert set(lines) == {
        e.id for e in grading.exercises(lab) + grading.questions(lab, asked_in=f"solutions/{source.name}")
    }
    assert all("correct —" in line for line in lines.values()), lines
