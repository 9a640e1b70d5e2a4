"""moto's state in memory: the backends a snapshot saves and restores, and the model instances
moto would otherwise keep for ever."""

from __future__ import annotations

import copyreg
import os
from collections.abc import Callable
from typing import Any

import moto

# A snapshot is loaded only by the moto release that saved it.
MOTO_VERSION = moto.__version__


def backend_state() -> list[tuple[str, dict[str, dict[str, Any]], dict[str, str]]]:
    """Every moto backend in use: (service, {account: {region: backend}}, S3's bucket owners)."""
    from moto.core.base_backend import BackendDict

    return [
        (
            d.service_name,
            {account: dict(regions) for account, regions in dict(d).items()},
            dict(getattr(d, "bucket_accounts", None) or {}),
        )
        for d in list(BackendDict._instances)
        if len(d)
    ]


def reducers_in_a_forked_copy() -> dict[type, Callable[[Any], tuple[Any, ...]]]:
    """How a forked copy of the emulator pickles what moto would pickle unsafely there: an S3
    object, whose ``__getstate__`` takes a lock and moves a file offset the copy shares."""
    from moto.s3.models import FakeKey

    return {FakeKey: s3_object_in_a_copy}


def s3_object_in_a_copy(key: Any) -> tuple[Any, ...]:
    """An S3 object as moto's ``FakeKey.__getstate__`` pickles it, read without taking its lock
    (a thread the copy does not have may hold it) and without moving the offset of a spooled
    file it shares with the emulator (``os.pread``)."""
    state = key.__dict__.copy()
    buffer = state.pop("_value_buffer")
    state.pop("lock", None)
    if buffer.closed:  # a deleted object's, as moto reads it
        state["value"] = ""
    elif getattr(buffer, "_rolled", False):
        descriptor = buffer._file.fileno()
        state["value"] = os.pread(descriptor, os.fstat(descriptor).st_size, 0)
        if len(state["value"]) != key.contentsize:  # part of it still in the file object's buffer
            raise ValueError(f"S3 object {key.name!r} is being written")
    else:
        state["value"] = buffer._file.getvalue()
    return copyreg.__newobj__, (type(key),), state


def restore_backend_state(state: list[tuple[str, dict[str, dict[str, Any]], dict[str, str]]]) -> None:
    """Put backends taken by :func:`backend_state` (in another process) in place."""
    from moto.backends import get_backend

    for service_name, accounts, bucket_accounts in state:
        backend_dict = get_backend(service_name)  # type: ignore[call-overload]
        for account, regions in accounts.items():
            for region, backend in regions.items():
                backend_dict[account][region] = backend
        if bucket_accounts:
            backend_dict.bucket_accounts.update(bucket_accounts)


def _track_no_model_instances() -> None:
    """moto lists every model instance it makes, per class, for its reset and its data
    dashboard (neither of which the emulator uses), and never lets one go: in a server that
    runs for hours the lists hold every S3 object body, SQS message and metric datum ever
    created, and memory grows without end. Instances are not listed (weak references instead
    would still cost a sizable share of a busy emulator's time)."""
    from moto.core import common_models

    base = common_models.BaseModel
    base.__new__ = staticmethod(lambda cls, *args, **kwargs: super(base, cls).__new__(cls))


def _backends_found_without_a_scan() -> None:
    """Every lookup of an account's backends (``sqs_backends[account]``, several in a request)
    took moto's global lock and searched its list of every service's backends with ``==``, which
    compares dicts of whole backends: 5.5% of a busy emulator's time in a pipeline run. An
    account's backends, once made and registered by moto, are returned at once."""
    from moto.core.base_backend import BackendDict

    lookup = BackendDict.__getitem__
    registered: set[int] = set()

    def __getitem__(self: Any, account_id: str) -> Any:
        if id(self) in registered and dict.__contains__(self, account_id):
            return dict.__getitem__(self, account_id)
        backends = lookup(self, account_id)
        registered.add(id(self))
        return backends

    BackendDict.__getitem__ = __getitem__
