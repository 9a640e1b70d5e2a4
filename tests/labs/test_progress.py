"""Class progress: checks are recorded for the instructor without costing the learner anything,
the dashboard shows a class of 40 as it is, and class provisioning and teardown handle a roster
and the class's own progress table."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import free_port, run_script
from workshop import cli
from workshop.account import inventory
from workshop.core import backend as backends
from workshop.core.errors import WorkshopError
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.teaching import dashboard, grading, progress, steps

START = datetime(2030, 5, 4, 9, 0, tzinfo=UTC)


def test_class_mode_is_on_with_a_class_name_and_off_by_switch():
    assert progress.class_name({}) is None
    assert progress.class_name({"WORKSHOP_CLASS": "wkshp"}) == "wkshp"
    assert progress.class_name({"WORKSHOP_CLASS": "wkshp", "WORKSHOP_PROGRESS": "off"}) is None
    assert progress.class_name({"WORKSHOP_CLASS": "Not A Name"}) is None, "a typo disables, never breaks, a check"
    assert progress.table_name("wkshp") == "wkshp-progress"


def test_a_roster_becomes_valid_distinct_prefixes(tmp_path):
    roster = tmp_path / "class.txt"
    roster.write_text("# Tuesday's class\nAna López\n\nbo.chen   # joins at 10\nMaximilian Alexander-Smith\n")
    assert cli.read_roster(roster, "wkshp") == {
        "wkshp-ana-lopez": "Ana López",
        "wkshp-bo-chen": "bo.chen",
        "wkshp-maximilian-ale": "Maximilian Alexander-Smith",
    }
    roster.write_text("Ana Lopez\nana  lopez\n")
    with pytest.raises(WorkshopError, match="lines 1 and 2.*both become 'wkshp-ana-lopez'"):
        cli.read_roster(roster, "wkshp")
    roster.write_text("# nobody\n")
    with pytest.raises(WorkshopError, match="names nobody"):
        cli.read_roster(roster, "wkshp")
    roster.write_text("7\n")
    with pytest.raises(WorkshopError, match="line 1: '7' has too few letters"):
        cli.read_roster(roster, "wkshp")
    roster.write_bytes("\ufeffAna López\nBo\n".encode())  # a byte-order mark, as Windows editors write
    assert cli.read_roster(roster, "wkshp") == {"wkshp-ana-lopez": "Ana López", "wkshp-bo": "Bo"}
    roster.write_bytes("Ana\nJos\xe9 Mart\xednez\n".encode("latin-1"))
    with pytest.raises(WorkshopError, match=r"line 2: not UTF-8 text \(byte 0xe9\); save the roster as UTF-8"):
        cli.read_roster(roster, "wkshp")


def test_connection_lines_say_where_the_class_is():
    embedded = backends.Backend(backends.EMBEDDED, "http://127.0.0.1:4566", "us-east-1")
    assert cli.connection_line(embedded, "wk-01", "wk") == "export WORKSHOP_PREFIX=wk-01 WORKSHOP_CLASS=wk"
    assert cli.connection_line(embedded, "wk-01", "wk", "10.0.0.5", progress=False) == (
        "export WORKSHOP_PREFIX=wk-01 WORKSHOP_CLASS=wk WORKSHOP_PROGRESS=off "
        "WORKSHOP_BACKEND=endpoint AWS_ENDPOINT_URL=http://10.0.0.5:4566"
    )
    aws = backends.Backend(backends.AWS, None, "eu-west-1")
    assert cli.connection_line(aws, "wk-01", "wk") == (
        "export WORKSHOP_PREFIX=wk-01 WORKSHOP_CLASS=wk WORKSHOP_BACKEND=aws AWS_DEFAULT_REGION=eu-west-1"
    )


def _simulate(backend, class_: str) -> list[str]:
    """A class of 40 half an hour in, written straight through the module as their checks would:

    01-12 solved labs 0-2; 13-20 stuck on 2.2 (the same typical mistake), after 1.x correct;
    21-25 on lab 1, stuck on 1.1; 26-30 were set up --upto 3 and checked nothing yet; 31-40 never started.
    """
    people = [f"{class_}-{n:02d}" for n in range(1, 41)]
    exercises = {e.id: e.title for e in grading.exercises() if e.lab in ("0", "1", "2")}
    lab = lambda n: [e for e in exercises if e.startswith(f"{n}.")]  # noqa: E731
    dynamodb = backend.client("dynamodb")
    writes: dict[str, int] = {}

    def write(person, exercise, outcome, message="fine"):
        writes[person] = writes.get(person, 0) + 1  # a minute apart, in the order each one worked
        at = START + timedelta(minutes=writes[person])
        progress.write(
            dynamodb, class_, progress.Record(person, exercise, exercises[exercise], outcome, message, at=at)
        )

    def solved(person, *labs):
        for n in labs:
            for exercise in lab(n):
                write(person, exercise, progress.INCORRECT, "first try wrong")  # a failure on the way
                write(person, exercise, progress.CORRECT)

    def work(person):
        n = int(person.rsplit("-", 1)[1])
        if n <= 12:
            solved(person, 0, 1, 2)
        elif n <= 20:
            solved(person, 0, 1)
            write(person, "2.1", progress.CORRECT)
            write(
                person, "2.2", progress.INCORRECT, "a second copy was recorded again: the put_item is not conditional"
            )
        elif n <= 25:
            solved(person, 0)
            write(person, "1.1", progress.INCORRECT, "no notification configuration on the incoming bucket")
        elif n <= 30:
            steps.record_completed(backend, class_, person, range(3))

    threads = [threading.Thread(target=work, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return people


def test_a_simulated_class_of_40_shows_the_right_dashboard(backend, prefix):
    assert progress.ensure_table(backend, prefix) == "created"
    assert progress.ensure_table(backend, prefix) == "exists"
    people = _simulate(backend, prefix)
    board = dashboard.dashboard(prefix, backend, participants=people, now=START + timedelta(hours=1))

    assert list(board.grid.index) == people and len(board.steps) == 40
    first_lab2 = [e for e in board.grid.columns if e.startswith("2.")]
    assert (board.grid.loc[people[:12]] == "✅").all().all()
    assert (board.grid.loc[people[12:20], "2.2"] == "❌").all()
    assert (board.grid.loc[people[30:]] == "⏳").all().all(), "never started: every exercise not attempted"
    assert (board.grid.loc[people[25:30], first_lab2] == "✅").all().all(), "setup --upto 3 marked labs 0-2 done"

    steps = board.steps["current step"]
    assert set(steps[people[12:20]]) == {2} and set(steps[people[20:25]]) == {1}
    assert set(steps[people[25:30]]) == {3}, "set up --upto 3: they start at step 3"
    assert set(steps[people[30:]]) == {0}
    assert set(board.steps.loc[people[12:20], "stuck on"]) == {"2.2"}
    assert board.steps.loc[people[0], "idle (min)"] >= 30 and board.steps.loc[people[30], "last check"] == ""

    top = board.most_failed.iloc[0]
    assert board.most_failed.index[0] == "2.2" and top["stuck now"] == 8
    assert "not conditional" in top["typical message"]
    assert board.most_failed.loc["1.1", "stuck now"] == 5
    assert board.counts.loc["2.2"].to_dict() == {"correct": 17, "incorrect": 8, "not attempted": 15}
    assert board.counts.sum(axis=1).eq(40).all()

    figure = board.chart()
    assert [axis.get_title() for axis in figure.axes] == ["Participants on each step", "Outcome of each exercise"]
    teardown = inventory.find(backend, backend.names(prefix))
    assert [(f.kind, f.name) for f in teardown] == [("table", f"{prefix}-progress")], (
        "the table belongs to the class: its prefix and tag"
    )
    for member in people[:3]:
        assert inventory.find(backend, backend.names(member)) == [], "no participant owns the class table"


@pytest.fixture
def in_class(ctx, in_process_backend, monkeypatch, prefix):
    """A participant in class mode: their check() calls record into the class's table."""
    class_ = f"{prefix}-c"
    progress.ensure_table(ctx.aws, class_)
    monkeypatch.setenv("WORKSHOP_CLASS", class_)
    monkeypatch.setenv("WORKSHOP_PREFIX", ctx.names.prefix)
    monkeypatch.setattr(grading, "notebook_context", lambda aws=None, names=None: ctx)
    return class_


def _recorded(backend, class_: str) -> dict[str, dict]:
    assert progress.flush(10)
    return {(r["participant"], r["exercise"]): r for r in progress.records(backend, class_)}


def test_real_checks_are_recorded_with_attempts_and_times(ctx, in_class, capsys):
    who = ctx.names.prefix
    grading.check("0.1")
    assert "not attempted" in capsys.readouterr().out
    first = _recorded(ctx.aws, in_class)[(who, "0.1")]
    assert (first["outcome"], first["attempts"], first["failures"]) == ("not attempted", 1, 0)

    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=ctx.names.bucket("scratch"))  # untagged: the typical mistake
    grading.check("0.1")
    s3.put_bucket_tagging(
        Bucket=ctx.names.bucket("scratch"), Tagging={"TagSet": [{"Key": "workshop:env", "Value": who}]}
    )
    grading.check("0.1")
    record = _recorded(ctx.aws, in_class)[(who, "0.1")]
    assert (record["outcome"], record["attempts"], record["failures"]) == ("correct", 3, 1)
    assert record["first_at"] <= record["correct_at"] == record["last_at"] and record["lab"] == "0"

    grading.report("0")
    recorded = _recorded(ctx.aws, in_class)
    lab_questions = {q.id for q in grading.questions("0", asked_in="solutions/00_first_steps.ipynb")}
    assert lab_questions, "lab 0 asks questions, and its report records them too"
    assert {e for (p, e) in recorded if p == who} == {"0.1", "0.2", "0.3"} | lab_questions
    assert recorded[(who, "0.2")]["source"] == "report"
    board = dashboard.dashboard(in_class, ctx.aws, participants=[who])
    assert list(board.grid.columns) == ["0.1", "0.2", "0.3", *sorted(lab_questions)], "questions after exercises"


def test_recording_is_off_by_switch_and_outside_a_class(ctx, in_class, monkeypatch):
    monkeypatch.setenv("WORKSHOP_PROGRESS", "off")
    grading.check("0.1")
    monkeypatch.delenv("WORKSHOP_PROGRESS")
    monkeypatch.delenv("WORKSHOP_CLASS")
    grading.check("0.1")
    assert _recorded(ctx.aws, in_class) == {}


def _check_seconds(times: int) -> list[float]:
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        grading.check("0.1")
        seconds.append(time.perf_counter() - started)
    return seconds


def test_every_check_is_recorded_once_from_the_background(ctx, in_class):
    """Each check is one attempt in the class's table. (What recording costs a check is not
    timed here: two medians compared on a shared CI machine differed by load alone.)"""
    progress.prepare()  # as importing the kit in a class-mode kernel does
    _check_seconds(6)
    assert progress.flush(20)
    assert _recorded(ctx.aws, in_class)[(ctx.names.prefix, "0.1")]["attempts"] == 6


@pytest.fixture
def silent_endpoint():
    """A server that accepts connections and never answers: the worst a network can do."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


@pytest.mark.parametrize("where", ["refused", "silent"])
def test_an_unreachable_progress_table_never_blocks_a_check(ctx, in_class, monkeypatch, capfd, where, silent_endpoint):
    url = silent_endpoint if where == "silent" else f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("WORKSHOP_PROGRESS", "off")
    _check_seconds(2)  # a first check in a process pays its imports (IPython's display): not ours to measure
    monkeypatch.delenv("WORKSHOP_PROGRESS")
    monkeypatch.setenv("WORKSHOP_PROGRESS_ENDPOINT", url)
    monkeypatch.setattr(progress._recorder, "warned", False)
    progress.prepare()  # what importing the kit does in a class-mode kernel
    assert progress.flush(30)
    seconds = _check_seconds(5)
    print(f"checks with an unreachable ({where}) progress table: {[round(s * 1000) for s in seconds]} ms")
    assert max(seconds) < 1.0, seconds  # the check itself takes milliseconds; a write would take seconds
    during = capfd.readouterr()
    assert "not attempted" in during.out
    progress.flush(30)  # the writer gives up on its own: short timeouts, one retry
    stderr = during.err + capfd.readouterr().err
    warnings = [line for line in stderr.splitlines() if "progress for your instructor" in line]
    assert len(warnings) == 1, warnings
    assert "your checks are not affected" in warnings[0]


def test_a_class_from_a_roster_connects_and_tears_down_in_one_command(emulator, backend, prefix, tmp_path):
    roster = tmp_path / "class.txt"
    roster.write_text("Ana\nBo Chen\n")
    setup = run_script(
        emulator, "setup_env.py", "--roster", str(roster), "--prefix", prefix, "--connect-host", "10.1.2.3"
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert f"Progress table {prefix}-progress: created" in setup.stdout
    port = emulator["WORKSHOP_PORT"]
    assert (
        f"Bo Chen  export WORKSHOP_PREFIX={prefix}-bo-chen WORKSHOP_CLASS={prefix} WORKSHOP_BACKEND=endpoint "
        f"AWS_ENDPOINT_URL=http://10.1.2.3:{port}"
    ) in setup.stdout
    assert "2 of 2 participants ready." in setup.stdout

    one = run_script(emulator, "teardown_env.py", "--prefix", f"{prefix}-ana")
    assert one.returncode == 0 and f"{prefix}-progress" not in one.stdout, (
        "a participant's teardown keeps the class table"
    )
    assert inventory.find(backend, backend.names(prefix))

    everyone = run_script(emulator, "teardown_env.py", "--roster", str(roster), "--prefix", prefix)
    assert everyone.returncode == 0, everyone.stdout + everyone.stderr
    assert f"1 resources of the class '{prefix}' itself deleted" in everyone.stdout
    for member in (prefix, f"{prefix}-ana", f"{prefix}-bo-chen"):
        assert inventory.find(backend, backend.names(member)) == []


def test_the_instructor_notebook_shows_the_class(emulator, backend, prefix, tmp_path):
    progress.ensure_table(backend, prefix)
    _simulate(backend, prefix)
    notebook = nbformat.read(ROOT / "instructor" / "dashboard.ipynb", as_version=4)
    env = {**emulator, "WORKSHOP_CLASS": prefix, "WORKSHOP_PARTICIPANTS": "40", "WORKSHOP_PREFIX": prefix}
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=env)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(str(value) for o in outputs for value in [*o.get("data", {}).values(), o.get("text", "")])
    assert "40 participants" in text and "2.2" in text
    assert any("image/png" in o.get("data", {}) for o in outputs), "the chart is drawn"
