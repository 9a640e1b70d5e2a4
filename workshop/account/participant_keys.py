"""A participant's own access key for a class on one shared emulator.

Class setup makes each participant an IAM user through IAM's own API (``CreateUser``,
``CreateAccessKey``), tagged with the participant's prefix; the shared emulator knows a
participant by that key and lets them reach only their own resources. IAM shows a secret once,
when the key is made (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html),
so the instructor's machine keeps the issued keys in an owner-only file: setup run again prints
the same lines, and teardown deletes the user and forgets its key.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from botocore.exceptions import ClientError

from workshop.core import launcher
from workshop.core.backend import Backend, endpoint_port
from workshop.core.errors import error_code
from workshop.core.naming import Names
from workshop.core.paths import write_private

__all__ = ["forget", "issue", "store_of", "user_name"]

_LOCK = threading.Lock()  # setup provisions participants in parallel; the file is one


def user_name(names: Names) -> str:
    return f"{names.prefix}-participant"


def store_of(backend: Backend) -> Path:
    """Where this machine keeps the keys issued on the local emulator ``backend`` reaches."""
    return launcher.class_keys_path(endpoint_port(backend.endpoint_url or ""))


def issue(backend: Backend, names: Names, store: Path | None = None) -> tuple[str, str]:
    """The participant's (access key id, secret): the one kept in ``store`` while IAM still has
    it, else a new key (the user made first when missing)."""
    iam = backend.client("iam")
    user = user_name(names)
    store = store or store_of(backend)
    kept = _read(store).get(names.prefix)
    try:
        active = {k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise
        iam.create_user(UserName=user, Tags=names.tag_list)
        active = set()
    if kept and kept[0] in active:
        return kept[0], kept[1]
    for stale in active:  # keys whose secrets are lost: IAM allows two, the class needs one
        iam.delete_access_key(UserName=user, AccessKeyId=stale)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    issued = (key["AccessKeyId"], key["SecretAccessKey"])
    with _LOCK:
        keys = _read(store)
        keys[names.prefix] = list(issued)
        write_private(store, json.dumps(keys, indent=1).encode())
    return issued


def forget(backend: Backend, names: Names, store: Path | None = None) -> bool:
    """Delete the participant's user and keys (when there) and the kept secret; True if deleted."""
    iam = backend.client("iam")
    user = user_name(names)
    store = store or store_of(backend)
    try:
        tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=user)["Tags"]}
        if tags != names.tag:
            return False  # not the kit's user for this participant: left alone
        for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
        iam.delete_user(UserName=user)
        deleted = True
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise
        deleted = False
    with _LOCK:
        keys = _read(store)
        if keys.pop(names.prefix, None) is not None:
            write_private(store, json.dumps(keys, indent=1).encode())
    return deleted


def _read(store: Path) -> dict[str, list[str]]:
    try:
        return json.loads(store.read_text())
    except (OSError, ValueError):
        return {}
