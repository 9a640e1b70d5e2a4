"""A chat webhook receiver standing in for Slack's incoming webhooks, served by the emulator.

``POST /_workshop/webhooks/<channel>`` with ``{"text": "..."}`` (or Slack ``blocks``) answers
``ok`` as Slack does, and keeps the message; ``GET`` on the same path lists what arrived, so
a notebook can show what the alarm handler posted. ``DELETE`` clears the channel.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

CHANNEL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_MESSAGES_PER_CHANNEL = 1000


class WebhookInbox:
    def __init__(self) -> None:
        self._channels: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def post(self, channel: str, payload: Any) -> tuple[int, str]:
        """Store a message; Slack's answers: 200 ``ok``, 400 ``invalid_payload`` / ``no_text``."""
        if not CHANNEL.match(channel):
            return 404, "no_service"
        if not isinstance(payload, dict):
            return 400, "invalid_payload"
        if not payload.get("text") and not payload.get("blocks"):
            return 400, "no_text"
        with self._lock:
            messages = self._channels.setdefault(channel, [])
            messages.append({"received": time.time(), **payload})
            del messages[:-MAX_MESSAGES_PER_CHANNEL]
        return 200, "ok"

    def messages(self, channel: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._channels.get(channel, []))

    def clear(self, channel: str) -> None:
        with self._lock:
            self._channels.pop(channel, None)
