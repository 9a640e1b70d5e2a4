"""Whose request it is, and the teaching switches kept per participant on a shared emulator.

A participant's resources all start with their prefix (:class:`workshop.core.naming.Names`), so
a switch a participant sets applies to the deliveries and invocations of resources named
``<prefix>-...`` and to nobody else's; the room-wide switches (the server's ``WORKSHOP_CHAOS_*``,
or changed with the instructor's token) apply to everything no participant has set for
themselves. On a laptop (loopback) there is one learner and every switch is room-wide, as the
emulator is not told otherwise (:mod:`workshop.emulator.app` decides).
"""

from __future__ import annotations

import threading
from typing import Any

from workshop.core.errors import WorkshopError
from workshop.core.launcher import PARTICIPANT_HEADER
from workshop.core.naming import validate_prefix
from workshop.emulator.settings import Chaos

__all__ = ["ScopedChaos", "caller_scope"]

_WSGI_PARTICIPANT = "HTTP_" + PARTICIPANT_HEADER.upper().replace("-", "_")


def caller_scope(environ: dict[str, Any]) -> str | None:
    """The participant prefix a ``/_workshop/`` request acts for, None when it names none.

    The one place that says who the caller is: the prefix the kit's client names
    (``lab_helpers.kit_emulator``, which signs the request with the participant's key). On a
    shared emulator the participant gate has already dropped a name that key does not own
    (:meth:`workshop.emulator.participant_gate.ParticipantGate.verify_participant`)."""
    given = environ.get(_WSGI_PARTICIPANT, "").strip()
    if not given:
        return None
    try:
        return validate_prefix(given)
    except WorkshopError:
        return None  # not a prefix: no participant's scope, so what the room-wide rules allow


def owns(scope: str, name: str) -> bool:
    """Whether a resource (or webhook channel) name belongs to the participant ``scope``."""
    return name.startswith(f"{scope}-")


class ScopedChaos:
    """The room-wide :class:`Chaos` and one per participant who set a switch of their own.

    A participant's switches are the room's with the ones they set replaced: a switch they never
    touched follows the room's, so the instructor can still turn duplicates on for everyone."""

    def __init__(self, room: Chaos) -> None:
        self.room = room
        self._scoped: dict[str, Chaos] = {}
        self._own: dict[str, set[str]] = {}  # per participant, the switches they set themselves
        self._lock = threading.Lock()

    def update(self, values: dict[str, Any], scope: str | None = None) -> dict[str, Any]:
        """Set switches room-wide (``scope=None``) or for one participant; all of that scope's."""
        with self._lock:
            if scope is None:
                self.room.update(values)  # validates before changing anything
                for prefix, chaos in self._scoped.items():
                    chaos.update({name: value for name, value in values.items() if name not in self._own[prefix]})
                return self.room.as_dict()
            chaos = self._scoped.get(scope)
            if chaos is None:
                chaos = Chaos()
                chaos.update(self.room.as_dict())
            chaos.update(values)
            self._scoped[scope] = chaos
            self._own.setdefault(scope, set()).update(values)
            return chaos.as_dict()

    def view(self, scope: str | None = None) -> dict[str, Any]:
        """The switches in force for a participant (``scope``), or room-wide."""
        with self._lock:
            return self._scoped.get(scope, self.room).as_dict() if scope else self.room.as_dict()

    def for_resource(self, name: str) -> Chaos:
        """The switches of the participant owning ``name`` (a resource's name, not its ARN); the
        longest prefix wins, as ``ana-b`` is not ``ana``'s."""
        with self._lock:
            owners = [prefix for prefix in self._scoped if owns(prefix, name)]
            return self._scoped[max(owners, key=len)] if owners else self.room
