"""``python -m workshop``: the kit's one command line.

    setup [--prefix P] [--upto N] provision your environment, or a class's (python setup_env.py)
    teardown [--dry-run]          remove what carries your prefix and tag, or a class's
                                  (python teardown_env.py)
    serve [--port N] [--host H]   run the embedded emulator in the foreground
    start [--fresh] / stop        the background emulator every process shares; its state is
                                  kept across restarts unless --fresh
    status                        backend, endpoint, whether it answers, prefix
    env                           shell lines pointing the AWS CLI at this backend
    lab                           what `make lab` does: emulator, setup, JupyterLab
    reset --step N [--prefix P]   start step N again: your resources removed, steps 0..N-1 redone
    labs [--check]                regenerate labs/ from solutions/ (make labs)
    outputs [--force] [PATH ...]  re-run notebooks/ and solutions/, store their outputs (make outputs)

'python -m workshop COMMAND --help' describes a command's options.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from workshop.cli import emulator_commands, lab_commands, notebook_commands, setup, teardown
from workshop.cli.failures import EXIT_USAGE, reported
from workshop.cli.participants import confirm, connection_line, read_roster  # notebooks call cli.read_roster

__all__ = ["PROG", "confirm", "connection_line", "entry_point", "main", "read_roster"]

PROG = "python -m workshop"
PASSES_ON_UNKNOWN_OPTIONS = {"lab"}  # they go on to jupyter lab


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command line and its commands' own parsers, in the order the docstring lists them."""
    top = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", metavar="COMMAND", title="commands", required=True)
    for module in (setup, teardown, emulator_commands, lab_commands, notebook_commands):
        module.add_commands(commands)
    return top, commands.choices


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run one command; returns its exit code (an error a person can fix is one line on stderr).

    ``prog`` is what the person typed for the command ``argv[0]`` names, for its usage and
    errors: ``setup_env.py`` runs ``main(["setup", ...], prog="setup_env.py")``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    top, commands = _parser()
    if not argv:
        top.print_help(sys.stderr)
        return EXIT_USAGE
    if not argv[0].startswith("-") and argv[0] not in commands:
        print(
            f"error: {argv[0]!r} is not a command; the commands are {', '.join(commands)} "
            f"('{PROG} --help' says what each does).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if prog and argv[0] in commands:
        commands[argv[0]].prog = prog
    args, extra = top.parse_known_args(argv)
    if extra and args.command not in PASSES_ON_UNKNOWN_OPTIONS:
        commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    args.jupyter_args = extra
    return reported(lambda: args.run(args))


def entry_point() -> None:
    """The ``workshop`` console script and ``python -m workshop``."""
    sys.exit(main())
