"""``setup`` (``python setup_env.py``): provision a participant's environment, or a whole class's."""

from __future__ import annotations

import argparse
import time

from workshop.account import environment, participant_keys
from workshop.cli import participants
from workshop.cli.participants import ParticipantResult
from workshop.core.errors import WorkshopError
from workshop.teaching import progress

__all__ = ["DESCRIPTION", "add_commands", "run"]

DESCRIPTION = """Provision a participant's workshop environment, or a whole class's.

    python setup_env.py                       # you, with your prefix
    python setup_env.py --prefix ana          # a given participant
    python setup_env.py --participants 30     # a class: learner-01 ... learner-30
    python setup_env.py --upto 2              # also finish steps 0 and 1 (their solutions)
    python setup_env.py --roster class.txt --prefix wkshp --connect-host 10.0.0.5
                                              # a class from a list of names, on this emulator

A class (--participants or --roster) also gets its progress table, <class>-progress, where
every participant's checks are recorded for the instructor's dashboard (INSTRUCTOR.md).

Idempotent: run it again and it changes nothing. See README.md.
'python -m workshop setup' is the same command.
"""


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "setup",
        help="provision your environment, or a class's (python setup_env.py)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    participants.add_participant_options(parser)
    parser.add_argument(
        "--upto",
        type=int,
        default=0,
        metavar="N",
        help="start at step N: run the solutions of steps 0 .. N-1 for each participant",
    )
    parser.add_argument(
        "--connect-host",
        metavar="HOST",
        help="learners reach this machine's emulator at HOST (serve it with --host 0.0.0.0): "
        "their connection lines point there",
    )
    parser.add_argument(
        "--laptops",
        action="store_true",
        help="learners run the emulator on their own laptops; this machine only collects the class's "
        "progress for the dashboard (needs a class and --connect-host)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="a class without progress recording: no progress table, WORKSHOP_PROGRESS=off",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # imported here: running notebooks costs a second and a half that the other commands need not pay
    from workshop.teaching import jupyterlab_settings, steps

    jupyterlab_settings.install()  # before `jupyter lab`, which make lab and the README start next
    prefixes = participants.participant_prefixes(args)
    class_ = participants.class_name(args)
    if args.connect_host is not None:
        participants.validate_connect_host(args.connect_host)
    steps.solutions_before(args.upto)  # an impossible --upto fails before anything is created
    backend = participants.connect(args.yes, "create", prefixes)
    started = time.perf_counter()
    recording = bool(class_) and not args.no_progress
    if args.laptops and not (recording and args.connect_host and backend.is_local):
        raise WorkshopError(
            "--laptops: give a class (--participants, --roster or --prefixes), --connect-host and this "
            "machine's emulator, with progress recorded: their laptops send their progress here"
        )
    if recording:
        print(f"Progress table {progress.table_name(class_)}: {progress.ensure_table(backend, class_)}")

    shared = backend.is_local and args.connect_host is not None
    keys: dict[str, tuple[str, str]] = {}

    def provision(prefix: str) -> list[dict]:
        names = backend.names(prefix)
        rows = []
        if shared:  # learners on other machines: each signs with a key of their own, made first
            keys[prefix] = participant_keys.issue(backend, names)
            rows.append({"kind": "access key", "name": participant_keys.user_name(names), "status": "ready"})
        if args.laptops:  # their environments are on their laptops
            return rows
        rows += [{"kind": o.kind, "name": o.name, "status": o.status} for o in environment.provision(backend, names)]
        rows += steps.complete(backend, prefix, args.upto)
        if recording and args.upto:  # the dashboard shows them at the step they start on
            steps.record_completed(backend, class_, prefix, range(args.upto))
        return rows

    results = participants.for_each_participant(prefixes, provision, args.workers)
    if len(results) == 1 and not class_:
        return _report_one(results[0])
    names = participants.read_roster(args.roster, class_) if getattr(args, "roster", None) else {}
    lines = {
        r.prefix: participants.connection_line(
            backend, r.prefix, class_, args.connect_host, recording, keys.get(r.prefix), laptops=args.laptops
        )
        for r in results
    }
    if args.laptops:
        print("Each learner runs 'make lab' on their laptop; their checks send progress to this machine.")
    elif backend.kind == "embedded" and not args.connect_host:
        print(
            "These environments live on this machine's emulator. For learners on other machines, serve it "
            "with 'python -m workshop serve --host 0.0.0.0' and pass --connect-host <this machine's address>."
        )
    return _report_class(results, names, lines, time.perf_counter() - started)


def _report_one(result: ParticipantResult) -> int:
    from workshop.teaching.steps import STEP

    if result.error:
        print(f"error: setup of {result.prefix!r} failed: {result.error}")
        return 1
    print(participants.table(result.rows))
    resources = [row for row in result.rows if row["kind"] != STEP]
    completed = [row["name"] for row in result.rows if row["kind"] == STEP]
    changed = [row for row in resources if row["status"] != environment.EXISTS]
    if changed:
        print(
            f"Environment of {result.prefix!r} ready: {len(changed)} of {len(resources)} resources "
            f"created or updated ({result.seconds:.1f} s)."
        )
    else:
        print(f"Nothing to do: all {len(resources)} resources of {result.prefix!r} already exist.")
    if completed:
        print(f"Steps done for you: {', '.join(completed)}; start at step {len(completed)}.")
    return 0


def _report_class(
    results: list[ParticipantResult], names: dict[str, str], lines: dict[str, str], seconds: float
) -> int:
    from workshop.teaching.steps import STEP

    summary = []
    for result in results:
        statuses = [row["status"] for row in result.rows]
        summary.append(
            {
                **({"participant": names.get(result.prefix, "")} if names else {}),
                "prefix": result.prefix,
                "created": statuses.count(environment.CREATED),
                "updated": statuses.count(environment.UPDATED),
                "unchanged": statuses.count(environment.EXISTS),
                "steps done": sum(1 for row in result.rows if row["kind"] == STEP),
                "result": f"failed: {result.error}" if result.error else "ready",
            }
        )
    print(participants.table(summary))
    print("\nEach participant connects with their line (in a shell, or a notebook cell with %env per variable):")
    width = max(len(names.get(r.prefix, r.prefix)) for r in results)
    for result in results:
        print(f"  {names.get(result.prefix, result.prefix):<{width}}  {lines[result.prefix]}")
    failed = sum(1 for r in results if r.error)
    print(f"{len(results) - failed} of {len(results)} participants ready.")
    print(f"Class set up in {seconds:.1f} s.")
    return 1 if failed else 0
