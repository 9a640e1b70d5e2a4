"""``lab`` and ``reset``: what ``make lab`` does, and starting a step again from a clean environment."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from workshop.cli import emulator_commands, participants
from workshop.core import backend as backends
from workshop.core.paths import PROJECT_ROOT

__all__ = ["FIRST_NOTEBOOK", "add_commands", "lab", "reset"]

FIRST_NOTEBOOK = "notebooks/00_getting_started.ipynb"


def add_commands(commands: argparse._SubParsersAction) -> None:
    commands.add_parser(
        "lab", help="start the emulator, set up your environment, open JupyterLab; further options go to jupyter lab"
    ).set_defaults(run=lab)
    reset_ = commands.add_parser("reset", help="start a step again from a clean environment")
    reset_.add_argument("--step", type=int, required=True, metavar="N", help="the step to start again")
    reset_.add_argument("--prefix", help="participant prefix (default: $WORKSHOP_PREFIX, else your user name)")
    reset_.add_argument("--yes", action="store_true", help="on a real AWS account, do not ask for confirmation")
    reset_.set_defaults(run=reset)


def lab(args: argparse.Namespace) -> int:
    """Everything a newcomer needs, in order, with the URL and how to stop at the end."""
    backend = backends.current()
    if backend.kind == backends.EMBEDDED:
        emulator_commands.start(args)
    root = str(PROJECT_ROOT)
    # its own process, as a learner running it would: its output and exit code are the lab's
    setup = subprocess.run([sys.executable, "-m", "workshop", "setup"], cwd=root)
    if setup.returncode != 0:
        return setup.returncode
    print("\nStarting JupyterLab on the first notebook: open the http://127.0.0.1:... URL it prints below.")
    print("Stop: Ctrl-C here, then 'make stop' to stop the emulator.\n", flush=True)
    notebook = FIRST_NOTEBOOK if os.path.exists(os.path.join(root, FIRST_NOTEBOOK)) else ""
    # default_url makes both the printed URL and the opened browser tab land on the first notebook.
    opening = [f"--LabApp.default_url=/lab/tree/{notebook}"] if notebook else []
    command = [sys.executable, "-m", "jupyter", "lab", *opening, *args.jupyter_args]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI machines often run as root
    environ = {**os.environ, **backend.environment_variables()}
    jupyter = subprocess.Popen(command, cwd=root, env=environ)
    # Stopping the launcher (Ctrl-C, SIGTERM from a terminal closing) stops JupyterLab with it.
    signal.signal(signal.SIGTERM, lambda *_: jupyter.terminate())
    try:
        return jupyter.wait()
    except KeyboardInterrupt:
        jupyter.terminate()
        return jupyter.wait()


def reset(args: argparse.Namespace) -> int:
    from workshop.teaching import steps

    steps.solutions_before(args.step)
    prefix = participants.prefix_option(args.prefix)
    backend = participants.connect(args.yes, f"DELETE and re-create (reset to step {args.step})", [prefix])
    done = steps.reset(args.step, backend, prefix, yes=True)  # connect() asked on a real account
    print(done.to_string(index=False))
    return 0
