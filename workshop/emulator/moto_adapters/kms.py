"""KMS: key operations that accept key ARNs, a key's state for SSE-KMS, and key policies judged
before moto stores them."""

from __future__ import annotations

from typing import Any

from workshop.aws import refusals
from workshop.emulator.moto_adapters.atomic import raise_refusal
from workshop.emulator.moto_adapters.server import ACCOUNT_ID


def _kms_key_operations_accept_arns() -> None:
    """AWS accepts a key ARN wherever a key id goes; moto's key state calls fail with a 500."""
    from moto.kms.models import KmsBackend

    for name in ("enable_key", "disable_key", "cancel_key_deletion", "schedule_key_deletion"):
        original = getattr(KmsBackend, name)

        def accepting_arns(self: Any, key_id: str, *args: Any, _original: Any = original) -> Any:
            return _original(self, self.get_key_id(key_id) if key_id.startswith("arn:") else key_id, *args)

        setattr(KmsBackend, name, accepting_arns)


def _key(region: str, key_ref: str) -> tuple[Any, Any] | None:
    """(the region's KMS backend, the key) for any key id, ARN, alias or alias ARN; None for an
    unknown key."""
    from moto.kms.models import kms_backends

    ref_region = key_ref.split(":")[3] if key_ref.startswith("arn:") else region
    backend = kms_backends[ACCOUNT_ID][ref_region]
    try:
        return backend, backend.keys[backend.any_id_to_key_id(key_ref)]
    except (KeyError, TypeError, AttributeError, IndexError):
        return None
    except Exception:  # moto's NotFoundException for an unknown alias
        return None


def kms_key_state(region: str, key_ref: str) -> tuple[str, str] | None:
    """(key ARN, KeyState) for any key id, ARN, alias or alias ARN; None for an unknown key."""
    found = _key(region, key_ref)
    return None if found is None else (found[1].arn, found[1].key_state)


def _key_policies_judged_first() -> None:
    """moto stores any text as a key policy, valid JSON or not."""
    from moto.core.exceptions import JsonRESTError
    from moto.kms.models import KmsBackend

    original = KmsBackend.put_key_policy

    def put_key_policy(self: Any, key_id: str, policy: str) -> None:
        raise_refusal(refusals.kms_key_policy(policy), JsonRESTError)
        original(self, key_id, policy)

    KmsBackend.put_key_policy = put_key_policy


def kms_key_tag(region: str, key_ref: str, tag_key: str) -> str | None:
    """The value of a key's tag ``tag_key`` (id, ARN or alias); None for an unknown or untagged key."""
    found = _key(region, key_ref)
    if found is None:
        return None
    backend, key = found
    tags = backend.list_resource_tags(key.id)["Tags"]
    return next((t["TagValue"] for t in tags if t["TagKey"] == tag_key), None)
