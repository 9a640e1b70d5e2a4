"""``teardown`` (``python teardown_env.py``): remove exactly what belongs to a participant or a class."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from workshop.account import inventory, participant_keys
from workshop.cli import participants
from workshop.teaching import progress

__all__ = ["DESCRIPTION", "add_commands", "run"]

DESCRIPTION = """Remove exactly what belongs to a participant (or a class): the prefix AND the tag.

    python teardown_env.py --dry-run          # list what would go, delete nothing
    python teardown_env.py                    # you, with your prefix
    python teardown_env.py --participants 30  # a class: learner-01 ... learner-30

Resources with the prefix but not the tag, or the tag of another participant, stay.
A class (--participants or --roster, with --prefix naming it) also loses what belongs to the
class itself, its progress table; a participant's own teardown never touches that.
'python -m workshop teardown' is the same command.
"""


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "teardown",
        help="remove what belongs to a participant or a class (python teardown_env.py)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    participants.add_participant_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted; delete nothing")
    parser.set_defaults(run=run)


FIND_PASSES = 3


def _everything(resource: inventory.Found) -> bool:
    return True


def run(args: argparse.Namespace) -> int:
    prefixes = participants.participant_prefixes(args)
    class_ = participants.class_name(args)
    backend = participants.connect(args.yes or args.dry_run, "list" if args.dry_run else "DELETE", prefixes)
    action = "would delete" if args.dry_run else "deleted"

    def teardown(prefix: str, wanted: Callable[[inventory.Found], bool] = _everything) -> list[dict]:
        rows: list[dict] = []
        seen: set[tuple[str, str]] = set()
        # Looked for again after deleting: a listing paged while the rest of the class deletes in
        # parallel can skip an item (moto pages ListRoles and ListTopics by position, and AWS's
        # listings are eventually consistent). A pass that finds nothing new ends it.
        for _ in range(1 if args.dry_run else FIND_PASSES):
            found = [r for r in inventory.find(backend, backend.names(prefix)) if wanted(r)]
            found = [r for r in found if (r.kind, r.name) not in seen]
            if not found:
                break
            for resource in found:
                if not args.dry_run:
                    inventory.delete(backend, resource)
                seen.add((resource.kind, resource.name))
                rows.append({"participant": prefix, "kind": resource.kind, "name": resource.name, "action": action})
        names = backend.names(prefix)
        if backend.is_local and not args.dry_run and wanted is _everything:  # a shared class's key
            if participant_keys.forget(backend, names):
                rows.append(
                    {
                        "participant": prefix,
                        "kind": "access key",
                        "name": participant_keys.user_name(names),
                        "action": action,
                    }
                )
        return rows

    def class_teardown(class_: str) -> list[dict]:
        """The class's own resource is its progress table. A participant whose prefix is the class's
        name (participant ``ana``, class ``ana``) carries the same prefix and tag: the rest is theirs."""
        table = progress.table_name(class_)
        return teardown(class_, lambda resource: (resource.kind, resource.name) == ("table", table))

    results = participants.for_each_participant(prefixes, teardown, args.workers)
    # the class's own resources (its progress table) go last, once every participant's went
    own = (
        participants.for_each_participant([class_], class_teardown, 1)
        if class_ and not any(r.error for r in results)
        else []
    )
    rows = [row for result in results for row in result.rows]
    class_rows = [row for result in own for row in result.rows]
    print(
        participants.table(rows + class_rows) if rows or class_rows else f"Nothing to delete for {', '.join(prefixes)}."
    )
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
