"""moto's server as the emulator runs it: the release it is written for, the account it serves,
its WSGI application and request handler, and which service a host's requests go to."""

from __future__ import annotations

from typing import Any

import moto
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

PINNED_MOTO_VERSION = "5.2.5"
ACCOUNT_ID = DEFAULT_ACCOUNT_ID

# Preserves header spellings S3 metadata needs (underscores) when serving moto's app.
REQUEST_HANDLER = MotoRequestHandler


def version_mismatch() -> str | None:
    """A message when the installed moto is not the one these internals were written for."""
    if moto.__version__ != PINNED_MOTO_VERSION:
        return (
            f"moto {moto.__version__} is installed but the emulator is written for moto "
            f"{PINNED_MOTO_VERSION}; reinstall with 'pip install -r requirements.txt'."
        )
    return None


def moto_wsgi_app() -> Any:
    """moto's WSGI application, routing each request to the service its signature names."""
    return DomainDispatcherApplication(create_backend_app)


def _remember_the_service_of_each_host() -> None:
    """moto finds the service of every request anew, listing its package folder on disk (a
    few hundred isdir calls) before matching URL patterns: a quarter of a DynamoDB call's
    time. The answer for a host never changes, so it is looked up once."""
    original = DomainDispatcherApplication.get_backend_for_host
    known: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in known:
            known[host] = original(self, host)
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host
