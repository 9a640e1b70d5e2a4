#!/usr/bin/env python3
"""Remove exactly what belongs to a participant (or a class): the prefix AND the tag.

    python teardown_env.py --dry-run          # list what would go, delete nothing
    python teardown_env.py                    # you, with your prefix
    python teardown_env.py --participants 30  # a class: learner-01 ... learner-30

Resources with the prefix but not the tag, or the tag of another participant, stay.
"""

from __future__ import annotations

import argparse

from workshop import cli, inventory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_participant_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted; delete nothing")
    args = parser.parse_args()
    prefixes = cli.participant_prefixes(args)
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
    rows = [row for result in results for row in result.rows]
    print(cli.table(rows) if rows else f"Nothing to delete for {', '.join(prefixes)}.")
    failed = [r for r in results if r.error]
    for result in failed:
        print(f"error: teardown of {result.prefix!r} failed: {result.error}")
    if rows:
        print(f"{len(rows)} resources {'would be deleted' if args.dry_run else 'deleted'} for {len(results) - len(failed)} of {len(results)} participants.")
    return 1 if failed else 0


if __name__ == "__main__":
    cli.run_main(main)
