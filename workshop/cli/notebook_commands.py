"""``labs`` and ``outputs``: regenerate labs/ from solutions/, and refresh the notebooks' stored outputs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_commands", "labs", "outputs"]

LABS = """Generate labs/ from solutions/ ('make labs'): the solutions are the single source of every exercise.

Each marked solution block (# BEGIN SOLUTION: prompt ... # END SOLUTION) becomes its prompt and a
'pass' placeholder; cells tagged instructor or solution are left out; outputs are cleared. An
unchanged solution gives a byte-identical lab. With --check nothing is written: the command fails
when labs/ is not what solutions/ generate (a test runs it).
"""

OUTPUTS = """Refresh the stored outputs of notebooks/ and solutions/ ('make outputs').

Each notebook runs top to bottom, in its own folder, against a private emulator started for it
alone (on port 4566 when free, so the outputs show what a learner sees), as the participant
'learner' on a freshly set-up environment. A notebook whose new outputs equal the stored ones,
once masked by nbval's sanitize file (ports, ids, timestamps), is left as it is. labs/ is never
executed here: labs carry no outputs.
"""


def add_commands(commands: argparse._SubParsersAction) -> None:
    labs_ = commands.add_parser(
        "labs",
        help="regenerate labs/ from solutions/ (make labs)",
        description=LABS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    labs_.add_argument("--check", action="store_true", help="only report labs that are out of date")
    labs_.set_defaults(run=labs)
    outputs_ = commands.add_parser(
        "outputs",
        help="re-run notebooks/ and solutions/ and store their outputs (make outputs)",
        description=OUTPUTS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    outputs_.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="notebooks to refresh (default: every notebook in notebooks/ and solutions/)",
    )
    outputs_.add_argument(
        "--force",
        action="store_true",
        help="write every notebook run, even when only ignored outputs or masked values changed",
    )
    outputs_.set_defaults(run=outputs)


def labs(args: argparse.Namespace) -> int:
    from workshop.teaching import build, solution_markers  # imported here: nbformat costs seconds to import

    try:
        stale = build.build(check=args.check)
    except solution_markers.BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check and stale:
        print(f"labs/ is out of date for: {', '.join(stale)}; run 'make labs'.", file=sys.stderr)
        return 1
    print(f"{len(stale)} lab(s) {'out of date' if args.check else 'written'}" if stale else "labs/ is up to date.")
    return 0


def outputs(args: argparse.Namespace) -> int:
    from nbclient.exceptions import CellExecutionError

    from workshop.teaching import notebook_outputs

    paths = [p.resolve() for p in args.paths] or sorted(
        p for folder in notebook_outputs.EXECUTED_FOLDERS for p in (notebook_outputs.ROOT / folder).glob("*.ipynb")
    )
    try:
        notebook_outputs.refresh(paths, force=args.force)
    except CellExecutionError as error:
        print(f"error: a cell failed, nothing more was written:\n{error}", file=sys.stderr)
        return 1
    return 0
