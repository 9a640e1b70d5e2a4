"""Participant prefixes and the names of every resource, derived in one place.

Every resource the kit creates is named ``<prefix>-<purpose>`` and tagged
``workshop:env=<prefix>``; teardown relies on both, so names must never be built
anywhere else.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass

from workshop.core.errors import WorkshopError

TAG_KEY = "workshop:env"
# The purpose of a class's progress table, "<class>-progress": the one resource a class shares.
PROGRESS_TABLE_PURPOSE = "progress"

# S3 bucket names are the tightest limit (63 characters). On real AWS a bucket name is
# "<prefix>-<purpose>-<account 12>-<region up to 14>"; with the longest purpose
# ("in-progress") that leaves 23 characters, so 20 keeps some room.
PREFIX_MAX_LENGTH = 20
_PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
DEFAULT_PREFIX = "learner"


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it can name every kind of resource, else raise a clear error."""
    problem = None
    if not prefix:
        problem = "it is empty"
    elif len(prefix) > PREFIX_MAX_LENGTH:
        problem = f"it has {len(prefix)} characters, at most {PREFIX_MAX_LENGTH} fit in S3 bucket names"
    elif len(prefix) < 2:
        problem = "it needs at least 2 characters"
    elif not _PREFIX_PATTERN.match(prefix):
        problem = "use lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit"
    elif "--" in prefix:
        problem = "it contains '--', which reads badly in resource names"
    if problem:
        raise WorkshopError(f"Invalid participant prefix {prefix!r}: {problem}.")
    return prefix


def prefix_from_user_name(user_name: str) -> str:
    """Turn a login name such as ``Jane.Doe`` into a valid prefix such as ``jane-doe``."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", user_name.lower()).strip("-")
    cleaned = re.sub(r"^[^a-z]+", "", cleaned)[:PREFIX_MAX_LENGTH].rstrip("-")
    return cleaned if len(cleaned) >= 2 else DEFAULT_PREFIX


def resolve_prefix(explicit: str | None = None) -> str:
    """The participant prefix: ``--prefix``, else ``WORKSHOP_PREFIX``, else the user name."""
    if explicit:
        return validate_prefix(explicit)
    from_env = os.environ.get("WORKSHOP_PREFIX")
    if from_env:
        return validate_prefix(from_env)
    try:
        user = getpass.getuser()
    except Exception:  # no user name on some containers and Windows services
        user = ""
    return validate_prefix(prefix_from_user_name(user))


def class_prefixes(base: str, participants: int) -> list[str]:
    """Prefixes for a class: ``<base>-01`` ... ``<base>-NN``, each validated."""
    if participants < 1:
        raise WorkshopError("--participants must be at least 1.")
    width = max(2, len(str(participants)))
    return [validate_prefix(f"{base}-{i:0{width}d}") for i in range(1, participants + 1)]


@dataclass(frozen=True)
class Names:
    """Resource names of one participant.

    ``bucket_suffix`` is empty on local backends; on real AWS it is
    ``-<account>-<region>`` because bucket names are global across all accounts.
    """

    prefix: str
    bucket_suffix: str = ""

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)

    @property
    def tag(self) -> dict[str, str]:
        return {TAG_KEY: self.prefix}

    @property
    def tag_list(self) -> list[dict[str, str]]:
        """The tag as most APIs take it (``Tags=[{"Key": ..., "Value": ...}]``)."""
        return [{"Key": TAG_KEY, "Value": self.prefix}]

    def _name(self, purpose: str) -> str:
        return f"{self.prefix}-{purpose}"

    def bucket(self, purpose: str) -> str:
        return f"{self._name(purpose)}{self.bucket_suffix}"

    def table(self, purpose: str) -> str:
        return self._name(purpose)

    def topic(self, purpose: str) -> str:
        return self._name(purpose)

    def queue(self, purpose: str, fifo: bool = False) -> str:
        return self._name(purpose) + (".fifo" if fifo else "")

    def function(self, purpose: str) -> str:
        return self._name(purpose)

    def role(self, purpose: str) -> str:
        return self._name(purpose)

    def alarm(self, purpose: str) -> str:
        return self._name(purpose)

    def key_alias(self, purpose: str) -> str:
        return f"alias/{self._name(purpose)}"

    def api(self, purpose: str) -> str:
        return self._name(purpose)

    def webhook_channel(self, purpose: str) -> str:
        """A chat channel of the kit emulator's webhook receiver: one participant's, never the room's."""
        return self._name(purpose)

    def log_group(self, function_purpose: str) -> str:
        return f"/aws/lambda/{self.function(function_purpose)}"

    @staticmethod
    def channel_purpose(channel: str, part: str) -> str:
        """The purpose of one part of a capstone channel (its functions and queues): ``cap-<channel>-<part>``."""
        return f"cap-{channel}-{part}"

    def owns(self, name: str) -> bool:
        """Whether a resource name is in this participant's namespace (the tag decides the rest)."""
        return name.startswith(f"{self.prefix}-")
