"""What the setup and teardown commands share: participant options, rosters, confirmation, class runs.

Both commands stay thin: they parse, confirm, and call :mod:`workshop.account.environment` or
:mod:`workshop.account.inventory` once per participant.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.exceptions

from workshop.core import backend as backends
from workshop.core.errors import WorkshopError, error_code, error_message
from workshop.core.naming import (
    DEFAULT_PREFIX,
    PREFIX_MAX_LENGTH,
    class_prefixes,
    prefix_from_user_name,
    resolve_prefix,
    validate_prefix,
)

__all__ = [
    "ParticipantResult",
    "add_participant_options",
    "class_name",
    "confirm",
    "connect",
    "connection_line",
    "for_each_participant",
    "participant_prefixes",
    "prefix_option",
    "read_roster",
    "table",
    "validate_connect_host",
]


def add_participant_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prefix",
        help="participant prefix (default: $WORKSHOP_PREFIX, else your user name); "
        "with --participants or --roster, the class name",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--participants", type=int, metavar="N", help="a whole class: prefixes <prefix>-01 ... <prefix>-N"
    )
    group.add_argument(
        "--roster",
        type=Path,
        metavar="FILE",
        help="a whole class from a file of names, one a line: prefixes <prefix>-<name>",
    )
    group.add_argument("--prefixes", metavar="A,B,C", help="a class given by its prefixes, comma-separated")
    parser.add_argument("--workers", type=int, default=8, help="participants handled in parallel (default 8)")
    parser.add_argument("--yes", action="store_true", help="on a real AWS account, do not ask for confirmation")


def participant_prefixes(args: argparse.Namespace) -> list[str]:
    """The prefixes the command acts on, validated; a clear error for a bad one (or a bad
    ``--workers``, the other participant option), before anything is contacted."""
    prefix_option(args.prefix)
    if args.workers < 1:
        raise WorkshopError(f"--workers {args.workers}: at least 1 participant must be handled at a time.")
    if args.prefixes:
        prefixes = [p.strip() for p in args.prefixes.split(",") if p.strip()]
        if not prefixes:
            raise WorkshopError("--prefixes is empty.")
        if len(set(prefixes)) != len(prefixes):
            raise WorkshopError("--prefixes names a participant twice.")
        return [validate_prefix(p) for p in prefixes]
    if args.participants is not None:
        return class_prefixes(validate_prefix(args.prefix) if args.prefix else DEFAULT_PREFIX, args.participants)
    if getattr(args, "roster", None) is not None:
        return list(read_roster(args.roster, class_name(args) or DEFAULT_PREFIX))
    return [prefix_option(args.prefix)]


def prefix_option(value: str | None) -> str:
    """``--prefix`` as given, else ``$WORKSHOP_PREFIX``, else the user name; ``--prefix ''`` is a
    mistake (an unset shell variable), not a request for the user name."""
    if value is not None and not value.strip():
        raise WorkshopError(
            "--prefix is empty: name the participant (or the class), or leave --prefix out to use "
            "$WORKSHOP_PREFIX or your user name."
        )
    return resolve_prefix(value)


def class_name(args: argparse.Namespace) -> str | None:
    """The class a command acts on: its name is the prefix of every participant's prefix.

    ``--participants`` and ``--roster`` make a class (``--prefix`` names it, default
    ``learner``); ``--prefixes`` does with an explicit ``--prefix``; one participant does not.
    """
    if args.participants is not None or getattr(args, "roster", None) is not None:
        return validate_prefix(args.prefix) if args.prefix else DEFAULT_PREFIX
    if args.prefixes and args.prefix:
        return validate_prefix(args.prefix)
    return None


def read_roster(path: Path, class_: str) -> dict[str, str]:
    """A roster file, one name a line, as ``{prefix: name}`` in file order.

    Names are what an instructor has (``Ana López``, ``bo.chen``); prefixes must name buckets,
    so each becomes ``<class>-<name in lowercase letters, digits, hyphens>``, cut to fit. Blank
    lines and ``#`` comments are skipped; two names that end up as one prefix are an error that
    names both lines, so nobody silently shares an environment.
    """
    import unicodedata

    try:  # utf-8-sig: a byte-order mark (Windows editors write one) is not part of the first name
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as error:
        raise WorkshopError(f"Cannot read the roster {path}: {error.strerror}.") from None
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise WorkshopError(
            f"{path}, line {line}: not UTF-8 text (byte 0x{error.object[error.start]:02x}); save the roster as UTF-8."
        ) from None
    room = PREFIX_MAX_LENGTH - len(class_) - 1
    if room < 2:
        raise WorkshopError(f"The class name {class_!r} leaves no room for names in a prefix: use a shorter one.")
    roster: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        slug = prefix_from_user_name(ascii_name)
        if slug == DEFAULT_PREFIX and ascii_name.lower() != DEFAULT_PREFIX:  # its fallback for "no name"
            raise WorkshopError(f"{path}, line {number}: {name!r} has too few letters to make a prefix of.")
        slug = slug[:room].rstrip("-")
        prefix = validate_prefix(f"{class_}-{slug}")
        if prefix in roster:
            raise WorkshopError(
                f"{path}, lines {first_line[prefix]} and {number}: {roster[prefix]!r} and {name!r} "
                f"both become {prefix!r}; write one of them differently."
            )
        roster[prefix], first_line[prefix] = name, number
    if not roster:
        raise WorkshopError(f"The roster {path} names nobody.")
    return roster


def connection_line(
    backend: backends.Backend,
    prefix: str,
    class_: str | None,
    connect_host: str | None = None,
    progress: bool = True,
    key: tuple[str, str] | None = None,
    laptops: bool = False,
) -> str:
    """The one line a participant pastes into their shell (or a notebook's %env) to join.

    On a shared emulator the instructor's own view of it is ``127.0.0.1``; learners reach it at
    ``connect_host``, as an AWS-compatible endpoint, with the key class setup issued them. On real AWS the credentials stay the
    learner's own, so the line carries only names and the region.
    """
    variables = {"WORKSHOP_PREFIX": prefix}
    if class_:
        variables["WORKSHOP_CLASS"] = class_
        if not progress:
            variables["WORKSHOP_PROGRESS"] = "off"
    if laptops and connect_host:  # their own emulator; their progress to this machine, signed
        port = backends.endpoint_port(backend.endpoint_url or "")
        from workshop.teaching.progress import ENDPOINT_VARIABLE

        variables[ENDPOINT_VARIABLE] = f"http://{connect_host}:{port}"
    elif backend.kind == backends.AWS:
        variables.update(WORKSHOP_BACKEND="aws", AWS_DEFAULT_REGION=backend.region)
    elif connect_host:
        port = backends.endpoint_port(backend.endpoint_url or "")
        variables.update(WORKSHOP_BACKEND="endpoint", AWS_ENDPOINT_URL=f"http://{connect_host}:{port}")
    elif backend.kind == backends.ENDPOINT:
        variables.update(WORKSHOP_BACKEND="endpoint", AWS_ENDPOINT_URL=backend.endpoint_url or "")
    if key:  # the participant's own key (a shared class's): it reaches their resources only
        variables.update(zip(backends.PARTICIPANT_KEY_VARIABLES, key, strict=True))
    return "export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items())


_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def validate_connect_host(host: str) -> str:
    """``--connect-host`` is an address (``10.0.0.5``, ``lab-pc.local``): the line adds the scheme
    and the emulator's own port, so a URL or a port given here would make a line that connects nowhere."""
    if not _HOST.match(host):
        raise WorkshopError(
            f"--connect-host {host!r}: give this machine's address only, as 10.0.0.5 or lab-pc.local; "
            "the connection lines add http:// and the emulator's port."
        )
    return host


def connect(yes: bool, action: str, prefixes: Sequence[str]) -> backends.Backend:
    """The backend, reachable; on a real account only after the person confirmed."""
    backend = backends.current()
    backends.ensure_reachable(backend)
    where = backend.endpoint_url or f"account {backend.account_id()}"
    print(f"Backend: {backend.kind} ({where}), region {backend.region}")
    if backend.kind == backends.AWS:
        who = prefixes[0] if len(prefixes) == 1 else f"{len(prefixes)} participants"
        confirm(
            f"This will {action} resources of {who} in the REAL AWS account {backend.account_id()} ({backend.region}).",
            yes,
        )
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
            result.error = f"{error_code(error)}: {error_message(error)}"
        result.seconds = time.perf_counter() - started
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(prefixes)))) as pool:
        return list(pool.map(run, prefixes))


def table(rows: Sequence[dict[str, Any]]) -> str:
    import pandas as pd  # imported here: it costs half a second that `serve` and `status` need not pay

    return pd.DataFrame(list(rows)).to_string(index=False) if rows else "(none)"
