"""What setup_env.py and teardown_env.py share: options, confirmation, class runs, output.

Both scripts stay thin: they parse, confirm, and call :mod:`workshop.environment` or
:mod:`workshop.inventory` once per participant.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from workshop import backend as backends
from workshop.errors import WorkshopError
from workshop.naming import DEFAULT_PREFIX, class_prefixes, resolve_prefix, validate_prefix

EXIT_USAGE = 2


def add_participant_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prefix", help="participant prefix (default: $WORKSHOP_PREFIX, else your user name); "
                        "with --participants, the class name")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--participants", type=int, metavar="N",
                       help="a whole class: prefixes <prefix>-01 ... <prefix>-N")
    group.add_argument("--prefixes", metavar="A,B,C", help="a class given by its prefixes, comma-separated")
    parser.add_argument("--workers", type=int, default=8, help="participants handled in parallel (default 8)")
    parser.add_argument("--yes", action="store_true", help="on a real AWS account, do not ask for confirmation")


def participant_prefixes(args: argparse.Namespace) -> list[str]:
    """The prefixes the command acts on, validated; a clear error for a bad one."""
    if args.prefixes:
        prefixes = [p.strip() for p in args.prefixes.split(",") if p.strip()]
        if not prefixes:
            raise WorkshopError("--prefixes is empty.")
        if len(set(prefixes)) != len(prefixes):
            raise WorkshopError("--prefixes names a participant twice.")
        return [validate_prefix(p) for p in prefixes]
    if args.participants is not None:
        return class_prefixes(validate_prefix(args.prefix) if args.prefix else DEFAULT_PREFIX, args.participants)
    return [resolve_prefix(args.prefix)]


def connect(yes: bool, action: str, prefixes: Sequence[str]) -> backends.Backend:
    """The backend, reachable; on a real account only after the person confirmed."""
    backend = backends.current()
    backends.ensure_reachable(backend)
    where = backend.endpoint_url or f"account {backend.account_id()}"
    print(f"Backend: {backend.kind} ({where}), region {backend.region}")
    if backend.kind == backends.AWS:
        who = prefixes[0] if len(prefixes) == 1 else f"{len(prefixes)} participants"
        confirm(f"This will {action} resources of {who} in the REAL AWS account "
                f"{backend.account_id()} ({backend.region}).", yes)
    return backend


def confirm(message: str, yes: bool) -> None:
    """Ask before touching a real account; without a terminal, --yes is required."""
    print(message)
    if yes:
        return
    if not sys.stdin or not sys.stdin.isatty():
        raise WorkshopError("Refusing to change a real AWS account without confirmation: re-run with --yes.")
    if input("Type 'yes' to continue: ").strip().lower() != "yes":
        raise WorkshopError("Cancelled; nothing was changed.")


@dataclass
class ParticipantResult:
    prefix: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def for_each_participant(
    prefixes: Sequence[str], work: Callable[[str], list[dict[str, Any]]], workers: int
) -> list[ParticipantResult]:
    """Run ``work`` per participant in parallel; one participant's failure never stops the rest."""

    def run(prefix: str) -> ParticipantResult:
        started = time.perf_counter()
        result = ParticipantResult(prefix)
        try:
            result.rows = work(prefix)
        except WorkshopError as error:
            result.error = str(error)
        except botocore.exceptions.BotoCoreError as error:
            result.error = f"{type(error).__name__}: {error}"
        except botocore.exceptions.ClientError as error:
            result.error = f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}"
        result.seconds = time.perf_counter() - started
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(prefixes)))) as pool:
        return list(pool.map(run, prefixes))


def table(rows: Sequence[dict[str, Any]]) -> str:
    import pandas as pd  # imported here: it costs half a second that `serve` and `status` need not pay

    return pd.DataFrame(list(rows)).to_string(index=False) if rows else "(none)"


def run_main(main: Callable[[], int]) -> None:
    """Run a command, turning the errors a person can fix into one clear line."""
    try:
        code = main()
    except WorkshopError as error:
        print(f"error: {error}", file=sys.stderr)
        code = EXIT_USAGE
    except botocore.exceptions.NoCredentialsError:
        print("error: no AWS credentials found: run 'aws configure' or set AWS_PROFILE.", file=sys.stderr)
        code = EXIT_USAGE
    except botocore.exceptions.EndpointConnectionError as error:
        print(f"error: cannot reach {error.kwargs.get('endpoint_url', 'the endpoint')}.", file=sys.stderr)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        code = 130
    sys.exit(code)
