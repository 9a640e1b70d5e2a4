"""The chat webhook of the workshop's alarm steps (the seed's "post to Slack"), on any backend.

On the kit's own emulator (embedded, or an instructor's behind ``AWS_ENDPOINT_URL``) the webhook
is a receiver inside the emulator, whose messages a notebook can list; each participant's channels
are their own (named with their prefix). On real AWS it is the incoming-webhook URL the learner
gives in ``WORKSHOP_WEBHOOK_URL`` (Slack, Teams, or any service taking ``{"text": ...}``).
"""

from __future__ import annotations

import os
from typing import Any

from workshop.core import backend as backends
from workshop.core.errors import WorkshopError
from workshop.lab_helpers import kit_emulator

FEATURE = "Built-in webhook receivers"


def _route(channel: str) -> str:
    return f"webhooks/{backends.current().names().webhook_channel(channel)}"


def url(channel: str = "alerts") -> str:
    """Where a handler should POST its ``{"text": ...}`` messages."""
    configured = os.environ.get("WORKSHOP_WEBHOOK_URL")
    if configured:
        return configured
    reason = kit_emulator.missing(FEATURE)
    if reason:
        raise WorkshopError(f"{reason} Set WORKSHOP_WEBHOOK_URL to your chat's incoming-webhook URL.")
    return kit_emulator.url(_route(channel))


def messages(channel: str = "alerts") -> list[dict[str, Any]]:
    """What the kit emulator's receiver got on your channel, oldest first."""
    return kit_emulator.call(_route(channel), FEATURE)["messages"]


def clear(channel: str = "alerts") -> None:
    kit_emulator.call(_route(channel), FEATURE, "DELETE")
