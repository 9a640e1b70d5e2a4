#!/usr/bin/env python3
"""Remove exactly what belongs to a participant (or a class): the prefix AND the tag.

    python teardown_env.py --dry-run          # list what would go, delete nothing
    python teardown_env.py                    # you, with your prefix
    python teardown_env.py --participants 30  # a class: learner-01 ... learner-30

Resources with the prefix but not the tag, or the tag of another participant, stay.
A class (--participants or --roster, with --prefix naming it) also loses what belongs to the
class itself, its progress table; a participant's own teardown never touches that.
"""

from __future__ import annotations

import argparse

from workshop import cli
from workshop.account import inventory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_participant_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted; delete nothing")
    args = parser.parse_args()
    prefixes = cli.participant_prefixes(args)
    class_ = cli.class_name(args)
    backend = cli.connect(args.yes or args.dry_run, "list" if args.dry_run else "DELETE", prefixes)
    action = "would delete" if args.dry_run else "deleted"

    def teardown(prefix: str) -> list[dict]:
        rows = []
        for resource in inventory.find(backend, backend.names(prefix)):
            if not args.dry_run:
                inventory.delete(backend, resource)
            rows.append({"participant": prefix, "kind": resource.kind, "name": resource.name, "action": action})
        return rows

    results = cli.for_each_participant(prefixes, teardown, args.workers)
    # the class's own resources (its progress table) go last, once every participant's went
    own = cli.for_each_participant([class_], teardown, 1) if class_ and not any(r.error for r in results) else []
    rows = [row for result in results for row in result.rows]
    class_rows = [row for result in own for row in result.rows]
    print(cli.table(rows + class_rows) if rows or class_rows else f"Nothing to delete for {', '.join(prefixes)}.")
    failed = [r for r in results + own if r.error]
    for result in failed:
        print(f"error: teardown of {result.prefix!r} failed: {result.error}")
    verb = "would be deleted" if args.dry_run else "deleted"
    if rows:
        done = sum(1 for r in results if not r.error)
        print(f"{len(rows)} resources {verb} for {done} of {len(results)} participants.")
    if class_rows:
        print(f"{len(class_rows)} resources of the class {class_!r} itself {verb} (its progress table).")
    return 1 if failed else 0


if __name__ == "__main__":
    cli.run_main(main)
