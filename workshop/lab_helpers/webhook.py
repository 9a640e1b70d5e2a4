"""The chat webhook of the workshop's alarm steps (the seed's "post to Slack"), on any backend.

On the embedded emulator the webhook is a receiver inside the emulator, whose messages a
notebook can list; on real AWS it is the incoming-webhook URL the learner gives in
``WORKSHOP_WEBHOOK_URL`` (Slack, Teams, or any service taking ``{"text": ...}``).
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

from workshop.core import backend as backends
from workshop.core.errors import WorkshopError


def url(channel: str = "alerts") -> str:
    """Where a handler should POST its ``{"text": ...}`` messages."""
    configured = os.environ.get("WORKSHOP_WEBHOOK_URL")
    if configured:
        return configured
    backend = backends.current()
    if backend.kind != backends.EMBEDDED:
        raise WorkshopError(
            "Set WORKSHOP_WEBHOOK_URL to your chat's incoming-webhook URL; only the embedded "
            "emulator has a built-in webhook receiver."
        )
    return f"{backend.endpoint_url}/_workshop/webhooks/{channel}"


def messages(channel: str = "alerts") -> list[dict[str, Any]]:
    """What the embedded receiver got on a channel, oldest first."""
    with urllib.request.urlopen(url(channel), timeout=5) as response:
        return json.loads(response.read())["messages"]


def clear(channel: str = "alerts") -> None:
    urllib.request.urlopen(urllib.request.Request(url(channel), method="DELETE"), timeout=5).read()
