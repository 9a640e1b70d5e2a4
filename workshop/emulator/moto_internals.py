"""Every piece of moto the emulator relies on beyond its public server, for one moto version.

moto's internals change between releases without notice. Keeping each use here, with
the exact version it was written for, means an upgrade fails in one place, loudly,
in ``tests/test_moto_internals.py``, instead of misbehaving across the emulator.
"""

from __future__ import annotations

from typing import Any

import moto
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

PINNED_MOTO_VERSION = "5.2.5"


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


# Preserves header spellings S3 metadata needs (underscores) when serving moto's app.
REQUEST_HANDLER = MotoRequestHandler
