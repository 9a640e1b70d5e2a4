"""IAM: roles looked up without iterating a dict other requests change."""

from __future__ import annotations

from typing import Any


def _roles_listed_from_a_snapshot() -> None:
    """moto looks a role up by iterating the live dict of roles; a class set up in parallel
    creates roles meanwhile and the lookup fails with 'dictionary changed size during
    iteration' (a 500). A copy (made atomically) is iterated instead."""
    from moto.iam.models import IAMBackend

    IAMBackend.get_roles = lambda self: list(self.roles.values())


def _iam() -> Any:
    from moto.iam.models import iam_backends

    from workshop.emulator.moto_adapters.server import ACCOUNT_ID

    return iam_backends[ACCOUNT_ID]["aws"]


def _tags(backend: Any, user: Any) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in backend.tagger.list_tags_for_resource(user.arn)["Tags"]}


def access_key_owner(access_key_id: str) -> tuple[str, str, dict[str, str]] | None:
    """The IAM user holding ``access_key_id``: (user name, secret key, the user's tags), or None.
    Every signed request asks: the key is found first, and only its user's tags are read."""
    backend = _iam()
    for user in list(backend.users.values()):  # a copy: setup adds users meanwhile
        for key in list(user.access_keys):
            if key.access_key_id == access_key_id and key.status == "Active":
                return user.name, key.secret_access_key, _tags(backend, user)
    return None


def participant_prefixes(tag_key: str) -> list[str]:
    """The prefixes of the class's participants: the tag each participant's IAM user carries."""
    backend = _iam()
    tags = [_tags(backend, user) for user in list(backend.users.values())]
    return [found[tag_key] for found in tags if found.get(tag_key)]
