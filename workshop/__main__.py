"""``python -m workshop``: run and inspect the kit's backend.

    serve [--port N] [--host H]   run the embedded emulator in the foreground
    start [--fresh] / stop        the background emulator every process shares; its state is
                                  kept across restarts unless --fresh
    status                        backend, endpoint, whether it answers, prefix
    env                           shell lines pointing the AWS CLI at this backend
    lab                           what `make lab` does: emulator, setup, JupyterLab
    reset --step N [--prefix P]   start step N again: your resources removed, steps 0..N-1 redone
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys

from workshop.core import backend as backends
from workshop import cli
from workshop.core.errors import WorkshopError
from workshop.core.naming import resolve_prefix
from workshop.core.paths import PROJECT_ROOT

FIRST_NOTEBOOK = "notebooks/00_getting_started.ipynb"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the embedded emulator in the foreground")
    serve.add_argument("--port", type=int, default=None, help=f"default $WORKSHOP_PORT or {backends.DEFAULT_PORT}")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--quiet", action="store_true", help="do not log every request")
    serve.add_argument("--fresh", action="store_true",
                       help="start empty instead of loading the state saved by the last run on this port "
                            "(it is kept aside, not deleted)")
    start = commands.add_parser("start", help="start the background emulator unless one is running")
    start.add_argument("--fresh", action="store_true", help="start empty, setting the saved state aside")
    commands.add_parser("stop", help="stop the background emulator")
    status = commands.add_parser("status", help="show the backend and whether it answers")
    status.add_argument("--prefix")
    commands.add_parser("env", help="print shell exports for the AWS CLI and other tools")
    commands.add_parser("lab", help="start the emulator, set up your environment, open JupyterLab; "
                        "further options go to jupyter lab")
    reset = commands.add_parser("reset", help="start a step again from a clean environment")
    reset.add_argument("--step", type=int, required=True, metavar="N", help="the step to start again")
    reset.add_argument("--prefix", help="participant prefix (default: $WORKSHOP_PREFIX, else your user name)")
    reset.add_argument("--yes", action="store_true", help="on a real AWS account, do not ask for confirmation")
    args, extra = parser.parse_known_args()
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.jupyter_args = extra
    return COMMANDS[args.command](args)


def _serve(args: argparse.Namespace) -> int:
    from workshop.emulator.server import serve

    port = args.port or int(os.environ.get("WORKSHOP_PORT", backends.DEFAULT_PORT))
    serve(args.host, port, quiet=args.quiet, fresh=args.fresh)
    return 0


def _embedded() -> backends.Backend:
    backend = backends.current()
    if backend.kind != backends.EMBEDDED:
        raise WorkshopError(f"The backend is {backend.kind!r}; start and stop apply to the embedded emulator only.")
    return backend


def _start(args: argparse.Namespace) -> int:
    from workshop.core import launcher

    backend = _embedded()
    fresh = getattr(args, "fresh", False)  # `lab` starts the emulator too, without the option
    if fresh and launcher.probe(backend.endpoint_url):
        raise WorkshopError("An emulator is running with its state; stop it first ('make stop'), then start --fresh.")
    health = launcher.ensure_running(backend.endpoint_url, _port(backend), fresh=fresh)
    print(f"Emulator running at {backend.endpoint_url} (pid {health['pid']}); stop it with 'make stop'. "
          "It keeps its state across restarts; 'python -m workshop start --fresh' starts empty.")
    return 0


def _stop(_: argparse.Namespace) -> int:
    from workshop.core import launcher

    backend = _embedded()
    stopped = launcher.stop(backend.endpoint_url)
    print("Emulator stopped." if stopped else f"No emulator running at {backend.endpoint_url}.")
    return 0


def _status(args: argparse.Namespace) -> int:
    backend = backends.current()
    print(f"backend:   {backend.kind}")
    print(f"endpoint:  {backend.endpoint_url or 'AWS (standard endpoints)'}")
    print(f"region:    {backend.region}")
    print(f"answers:   {_answers(backend)}")
    print(f"prefix:    {resolve_prefix(args.prefix)}")
    return 0


def _answers(backend: backends.Backend) -> str:
    if backend.kind == backends.EMBEDDED:
        from workshop.core import launcher

        health = launcher.probe(backend.endpoint_url)
        if not health:
            return "no (start it with 'python -m workshop start' or 'make lab')"
        return f"yes (workshop emulator {health['version']}, pid {health['pid']}, up {health['uptime_seconds']:.0f} s)"
    try:
        backends.ensure_reachable(backend)
    except WorkshopError as error:
        return f"no ({error})"
    return f"yes (account {backend.account_id()})" if backend.kind == backends.AWS else "yes"


def _env(_: argparse.Namespace) -> int:
    for name, value in backends.current().environment_variables().items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _lab(args: argparse.Namespace) -> int:
    """Everything a newcomer needs, in order, with the URL and how to stop at the end."""
    backend = backends.current()
    if backend.kind == backends.EMBEDDED:
        _start(args)
    root = str(PROJECT_ROOT)
    setup = subprocess.run([sys.executable, os.path.join(root, "setup_env.py")], cwd=root)
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


def _reset(args: argparse.Namespace) -> int:
    from workshop.teaching import steps

    steps.solutions_before(args.step)
    prefix = resolve_prefix(args.prefix)
    backend = cli.connect(args.yes, f"DELETE and re-create (reset to step {args.step})", [prefix])
    done = steps.reset(args.step, backend, prefix, yes=True)  # connect() asked on a real account
    print(done.to_string(index=False))
    return 0


def _port(backend: backends.Backend) -> int:
    return int(backend.endpoint_url.rsplit(":", 1)[1])


COMMANDS = {"serve": _serve, "start": _start, "stop": _stop, "status": _status, "env": _env, "lab": _lab,
            "reset": _reset}

def entry_point() -> None:
    cli.run_main(main)


if __name__ == "__main__":
    entry_point()
