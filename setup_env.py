#!/usr/bin/env python3
"""Provision a participant's workshop environment, or a whole class's.

    python setup_env.py                       # you, with your prefix
    python setup_env.py --prefix ana          # a given participant
    python setup_env.py --participants 30     # a class: learner-01 ... learner-30
    python setup_env.py --upto 2              # also finish steps 0 and 1 (their solutions)

Idempotent: run it again and it changes nothing. See README.md.
"""

from __future__ import annotations

import argparse

from workshop import cli, environment, steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_participant_options(parser)
    parser.add_argument("--upto", type=int, default=0, metavar="N",
                        help="start at step N: run the solutions of steps 0 .. N-1 for each participant")
    args = parser.parse_args()
    prefixes = cli.participant_prefixes(args)
    steps.solutions_before(args.upto)  # an impossible --upto fails before anything is created
    backend = cli.connect(args.yes, "create", prefixes)

    def provision(prefix: str) -> list[dict]:
        outcomes = environment.provision(backend, backend.names(prefix))
        rows = [{"kind": o.kind, "name": o.name, "status": o.status} for o in outcomes]
        return rows + steps.complete(backend, prefix, args.upto)

    results = cli.for_each_participant(prefixes, provision, args.workers)
    if len(results) == 1:
        return _report_one(results[0])
    return _report_class(results)


def _report_one(result: cli.ParticipantResult) -> int:
    if result.error:
        print(f"error: setup of {result.prefix!r} failed: {result.error}")
        return 1
    print(cli.table(result.rows))
    resources = [row for row in result.rows if row["kind"] != steps.STEP]
    completed = [row["name"] for row in result.rows if row["kind"] == steps.STEP]
    changed = [row for row in resources if row["status"] != environment.EXISTS]
    if changed:
        print(f"Environment of {result.prefix!r} ready: {len(changed)} of {len(resources)} resources "
              f"created or updated ({result.seconds:.1f} s).")
    else:
        print(f"Nothing to do: all {len(resources)} resources of {result.prefix!r} already exist.")
    if completed:
        print(f"Steps done for you: {', '.join(completed)}; start at step {len(completed)}.")
    return 0


def _report_class(results: list[cli.ParticipantResult]) -> int:
    summary = []
    for result in results:
        statuses = [row["status"] for row in result.rows]
        summary.append({
            "prefix": result.prefix,
            "created": statuses.count(environment.CREATED),
            "updated": statuses.count(environment.UPDATED),
            "unchanged": statuses.count(environment.EXISTS),
            "steps done": sum(1 for row in result.rows if row["kind"] == steps.STEP),
            "result": f"failed: {result.error}" if result.error else "ready",
            "connect with": f"WORKSHOP_PREFIX={result.prefix}",
        })
    print(cli.table(summary))
    failed = sum(1 for r in results if r.error)
    print(f"{len(results) - failed} of {len(results)} participants ready.")
    return 1 if failed else 0


if __name__ == "__main__":
    cli.run_main(main)
