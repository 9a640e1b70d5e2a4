"""Run the emulator in the foreground: ``python -m workshop serve [--port N]``."""

from __future__ import annotations

import gc
import os
import signal
import socket
import sys
import threading

from werkzeug.serving import make_server

from workshop.core import launcher
from workshop.core.errors import WorkshopError
from workshop.emulator import admin_guard, moto_adapters, persistence
from workshop.emulator.app import EmulatorApp
from workshop.emulator.functions import sandbox as handler_sandbox
from workshop.emulator.identity import PARTICIPANT_TAG, Identities
from workshop.emulator.keep_alive import KeepAliveRequestHandler
from workshop.emulator.moto_adapters import apigateway as moto_apigateway
from workshop.emulator.moto_adapters import event_source_mappings as moto_mappings
from workshop.emulator.moto_adapters import iam as moto_iam
from workshop.emulator.moto_adapters import kms as moto_kms
from workshop.emulator.moto_adapters import server as moto_server
from workshop.emulator.participant_gate import ParticipantGate
from workshop.emulator.service import EmulatorService
from workshop.emulator.settings import Settings
from workshop.emulator.tenancy import Tenancy


def _check_port_free(host: str, port: int) -> None:
    """Fail with one line; werkzeug itself prints a paragraph and exits."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise WorkshopError(
                f"Cannot listen on {host}:{port}: {error.strerror}. Is an emulator already running "
                "('python -m workshop status')? Otherwise choose another port with --port."
            ) from None


def serve(
    host: str = "127.0.0.1",
    port: int = 4566,
    quiet: bool = False,
    fresh: bool = False,
    unsandboxed_handlers: bool = False,
) -> None:
    """Serve until Ctrl-C, SIGTERM or ``POST /_workshop/shutdown``.

    The state is saved in the state directory and loaded at the next start on the same port
    (see :mod:`workshop.emulator.persistence`); ``fresh`` starts empty and sets the old state
    aside, and ``WORKSHOP_PERSIST=off`` neither loads nor saves. Beyond loopback, handlers run
    in a sandbox (:mod:`workshop.emulator.functions.sandbox`) unless ``unsandboxed_handlers``."""
    mismatch = moto_server.version_mismatch()
    if mismatch:
        raise WorkshopError(mismatch)

    _check_port_free(host, port)
    stop = threading.Event()
    settings = Settings.from_environment()
    sandbox = handler_sandbox.for_server(
        not admin_guard.is_loopback(host), settings.sandbox_handlers, unsandboxed_handlers
    )
    service = EmulatorService(f"http://127.0.0.1:{port}", settings)
    service.runtime.sandbox = sandbox
    moto_adapters.install(
        service.on_s3_change,
        service.on_sns_delivery,
        service.on_alarm_state_change,
        service.runtime.forget,
        service.bells.ring,
        service.tracing.dead_lettered,
    )
    snapshots = None
    if os.environ.get("WORKSHOP_PERSIST", "on").lower() not in ("off", "0", "no", "false"):
        state_dir = launcher.state_dir()
        snapshots = persistence.Snapshotter(
            state_dir / f"emulator-{port}.state", service.saved_work, persistence.installation_key(state_dir)
        )
        if fresh:
            snapshots.set_aside()
        saved = snapshots.restore(strict=not admin_guard.is_loopback(host))
        if saved is not None:
            service.resume_work(saved)
            print(f"Loaded the saved state ({snapshots.path})", flush=True)
        snapshots.start()
        service.snapshots = snapshots
    token, gate = None, None
    if admin_guard.is_loopback(host):
        launcher.admin_token_path(port).unlink(missing_ok=True)  # a shared run's, on this port before
    else:
        token = admin_guard.write_token(launcher.admin_token_path(port))
        gate = _participant_gate(token)
        service.runtime.credentials = lambda spec: gate.identities.function_credentials(spec.name)
        _warn_shared(host, port, token, sandboxed=service.runtime.sandbox is not None)
    app = EmulatorApp(
        service,
        on_shutdown=stop.set,
        on_request=snapshots.changed if snapshots else None,
        guard=admin_guard.AdminGuard(token),
        gate=gate,
    )
    server = make_server(host, port, app, threaded=True, request_handler=KeepAliveRequestHandler)
    if quiet:
        # Request lines on every call drown the log that matters; errors still show.
        KeepAliveRequestHandler.log_request = lambda *args, **kwargs: None

    # What start-up made lives as long as the emulator: frozen out of every later collection's
    # walk (uncollected: a full collection here would delay the first answer by ~20 ms).
    gc.freeze()
    gc.enable()
    thread = threading.Thread(target=server.serve_forever, name="emulator-http", daemon=True)
    thread.start()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"Workshop emulator listening on http://{host}:{port} (Ctrl-C to stop)", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        service.begin_shutdown()
        server.shutdown()
        thread.join(timeout=5)
        service.shutdown()
        if snapshots:
            snapshots.stop()  # after the background work stopped: nothing changes while it writes
        print("Workshop emulator stopped.", file=sys.stderr, flush=True)


def _participant_gate(token: str) -> ParticipantGate:
    """Participants are the IAM users class setup tagged with their prefix; the instructor signs
    with the admin token."""
    tenancy = Tenancy(
        prefixes=lambda: moto_iam.participant_prefixes(PARTICIPANT_TAG),
        mapping_function=moto_mappings.mapping_function_name,
        key_owner=lambda region, key: moto_kms.kms_key_tag(region, key, PARTICIPANT_TAG),
        api_name=moto_apigateway.rest_api_name,
    )
    return ParticipantGate(Identities(token, moto_iam.access_key_owner, tenancy.owner), tenancy)


def _warn_shared(host: str, port: int, token: str, sandboxed: bool) -> None:
    """Said once, at start, to the instructor alone: what serving a room exposes, and the token."""
    handlers = (
        "Handlers deployed to it run in a sandbox, but reach this machine's network (INSTRUCTOR.md, One shared emulator)."
        if sandboxed
        else "Handlers deployed to it run as this user, with this user's files (--unsandboxed-handlers)."
    )
    print(
        f"WARNING: listening on {host}:{port}: anyone who can reach this machine can call this emulator.\n"
        f"  {handlers} Serve a class only on a network you trust.\n"
        "  Its admin endpoints (/moto-api, shutdown, stats, changing the room's teaching switches, clearing\n"
        f"  another's webhook channel) need this token in the {admin_guard.HEADER} header; participants' lines\n"
        "  never carry it:\n"
        f"  {token}\n"
        f"  (kept, readable by you alone, in {launcher.admin_token_path(port)})",
        flush=True,
    )
