"""``serve``, ``start``, ``stop``, ``status``, ``env``: run and inspect the kit's backend."""

from __future__ import annotations

import argparse
import gc
import os
import shlex

from workshop.cli import participants
from workshop.core import backend as backends
from workshop.core.errors import WorkshopError

__all__ = ["add_commands", "env", "serve", "start", "status", "stop"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    serve_ = commands.add_parser("serve", help="run the embedded emulator in the foreground")
    serve_.add_argument("--port", type=int, default=None, help=f"default $WORKSHOP_PORT or {backends.DEFAULT_PORT}")
    serve_.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve_.add_argument("--quiet", action="store_true", help="do not log every request")
    serve_.add_argument(
        "--fresh",
        action="store_true",
        help="start empty instead of loading the state saved by the last run on this port "
        "(it is kept aside, not deleted)",
    )
    serve_.add_argument(
        "--unsandboxed-handlers",
        action="store_true",
        help="beyond 127.0.0.1, run handlers without the sandbox (as this user, with this user's files): "
        "for machines where the sandbox cannot run",
    )
    serve_.set_defaults(run=serve)
    start_ = commands.add_parser("start", help="start the background emulator unless one is running")
    start_.add_argument("--fresh", action="store_true", help="start empty, setting the saved state aside")
    start_.set_defaults(run=start)
    commands.add_parser("stop", help="stop the background emulator").set_defaults(run=stop)
    status_ = commands.add_parser("status", help="show the backend and whether it answers")
    status_.add_argument("--prefix")
    status_.set_defaults(run=status)
    commands.add_parser("env", help="print shell exports for the AWS CLI and other tools").set_defaults(run=env)


def serve(args: argparse.Namespace) -> int:
    # The emulator's imports make objects that live as long as it does: collecting garbage while
    # importing finds next to nothing and costs 5% of the start-up. serve() turns collection back
    # on once it is set up, with what start-up made frozen out of later collections' walks.
    gc.disable()
    from workshop.emulator.server import serve as serve_emulator

    port = args.port or int(os.environ.get("WORKSHOP_PORT", backends.DEFAULT_PORT))
    serve_emulator(args.host, port, quiet=args.quiet, fresh=args.fresh, unsandboxed_handlers=args.unsandboxed_handlers)
    return 0


def _embedded() -> backends.Backend:
    backend = backends.current()
    if backend.kind != backends.EMBEDDED:
        raise WorkshopError(f"The backend is {backend.kind!r}; start and stop apply to the embedded emulator only.")
    return backend


def start(args: argparse.Namespace) -> int:
    from workshop.core import launcher

    backend = _embedded()
    fresh = getattr(args, "fresh", False)  # `lab` starts the emulator too, without the option
    if fresh and launcher.probe(backend.endpoint_url):
        raise WorkshopError("An emulator is running with its state; stop it first ('make stop'), then start --fresh.")
    port = backends.endpoint_port(backend.endpoint_url)
    health = launcher.ensure_running(backend.endpoint_url, port, fresh=fresh)
    print(
        f"Emulator running at {backend.endpoint_url} (pid {health['pid']}); stop it with 'make stop'. "
        "It keeps its state across restarts; 'python -m workshop start --fresh' starts empty."
    )
    return 0


def stop(_: argparse.Namespace) -> int:
    from workshop.core import launcher

    backend = _embedded()
    stopped = launcher.stop(backend.endpoint_url)
    print("Emulator stopped." if stopped else f"No emulator running at {backend.endpoint_url}.")
    return 0


def status(args: argparse.Namespace) -> int:
    prefix = participants.prefix_option(args.prefix)  # a bad one is the only line printed
    backend = backends.current()
    print(f"backend:   {backend.kind}")
    print(f"endpoint:  {backend.endpoint_url or 'AWS (standard endpoints)'}")
    print(f"region:    {backend.region}")
    print(f"answers:   {_answers(backend)}")
    print(f"prefix:    {prefix}")
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


def env(_: argparse.Namespace) -> int:
    for name, value in backends.current().environment_variables().items():
        print(f"export {name}={shlex.quote(value)}")
    return 0
