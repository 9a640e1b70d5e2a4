"""IAM: roles looked up without iterating a dict other requests change."""

from __future__ import annotations


def _roles_listed_from_a_snapshot() -> None:
    """moto looks a role up by iterating the live dict of roles; a class set up in parallel
    creates roles meanwhile and the lookup fails with 'dictionary changed size during
    iteration' (a 500). A copy (made atomically) is iterated instead."""
    from moto.iam.models import IAMBackend

    IAMBackend.get_roles = lambda self: list(self.roles.values())
