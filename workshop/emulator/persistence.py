"""The emulator's state on disk, so a restart keeps what an AWS account would keep.

moto holds every resource in memory. A :class:`Snapshotter` pickles all of moto's
backends (buckets and objects, tables and items, queues and their messages, functions,
mappings and where each has read its stream, alarms, keys, logs) together with the
asynchronous events still waiting to run, into ``emulator-<port>.state`` beside the
emulator's log. It writes after a change, at most every couple of seconds (less often when
the state is large: a snapshot never takes more than a few per cent of the emulator's
time), and once more on a clean stop. On Linux a forked copy of the emulator pickles and writes
each snapshot while the emulator serves on (:mod:`workshop.emulator.snapshot_fork`). The next
start on that port loads it.

Unpickling runs code, so the file is not trusted for being there: it is written readable by its
owner alone and carries an HMAC-SHA256 of its content under a key of this installation
(``state.key`` in the state directory, owner-only, made at the first save). A file whose HMAC
does not match is never unpickled. The snapshot a run started from is kept as ``.previous``, so
a wipe during the run can be undone (stop, copy it over the state file, start).

What a restart does lose: anything changed in the last interval before a crash (a clean stop
loses nothing), an S3 or SNS event in the instant between its cause and its queueing, SQS
metrics' counters for the current minute, the chat-webhook inbox, and warm Lambda workers
(the next invoke is cold, as after AWS recycles an environment). A state file that cannot be
read or trusted (another moto version, a damaged or replaced file) is moved aside, never
deleted, and a laptop's emulator starts empty; a class's (``serve --host 0.0.0.0``) refuses to
start, with one line, unless ``--fresh``.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import copyreg
import hashlib
import hmac
import io
import os
import pickle
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workshop.core.errors import WorkshopError
from workshop.core.paths import write_private
from workshop.emulator import snapshot_fork
from workshop.emulator.moto_adapters import state as moto_state

MIN_INTERVAL_SECONDS = 2.0
MAX_SHARE_OF_TIME = 0.05  # snapshots may take at most this share of the emulator's time
COPY_TIMEOUT_SECONDS = 120.0  # a forked copy still saving after this long (or 20 times the last) is stopped
FORMAT = 2
MAGIC = b"workshop-emulator-state 2\n"  # then the HMAC-SHA256 of the pickle, then the pickle
_DIGEST_BYTES = hashlib.sha256().digest_size


class UntrustedState(ValueError):
    """A state file this installation did not write: never unpickled."""


def installation_key(state_dir: Path) -> bytes:
    """This installation's key for the state files' HMAC, made owner-only at first use."""
    path = state_dir / "state.key"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(descriptor, "wb") as file:
        key = os.urandom(32)
        file.write(key)
    return key


def seal(data: bytes, key: bytes) -> bytes:
    return MAGIC + hmac.new(key, data, hashlib.sha256).digest() + data


def unseal(sealed: bytes, key: bytes) -> bytes:
    """The pickle inside ``sealed``, or :class:`UntrustedState` before anything is unpickled."""
    if not sealed.startswith(MAGIC):
        raise UntrustedState("not a state file of this kit's format")
    digest, data = sealed[len(MAGIC) : len(MAGIC) + _DIGEST_BYTES], sealed[len(MAGIC) + _DIGEST_BYTES :]
    if not hmac.compare_digest(digest, hmac.new(key, data, hashlib.sha256).digest()):
        raise UntrustedState("its HMAC does not match this installation's key: changed or written elsewhere")
    return data


_LOCK_TYPES = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}


def _fresh_lock(lock: Any) -> tuple[Callable[[], Any], tuple[()]]:
    """A lock pickles as a new, released one: its holder does not survive the restart."""
    return _LOCK_TYPES[type(lock)], ()


def _private_key(der: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    return load_der_private_key(der, password=None)


def _key_as_der(key: Any) -> tuple[Callable[[bytes], Any], tuple[bytes]]:
    """KMS's asymmetric keys (and IAM's signing keys) are OpenSSL objects: they travel as DER."""
    from cryptography.hazmat.primitives import serialization

    return _private_key, (
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


class _CopyFactory:
    """A defaultdict's factory that was a lambda (moto's ``defaultdict(lambda: {})``): it makes
    copies of what the lambda made, and unlike the lambda it can be pickled."""

    def __init__(self, template: Any) -> None:
        self.template = template

    def __call__(self) -> Any:
        return copy.deepcopy(self.template)


def _defaultdict(d: collections.defaultdict) -> tuple[Any, ...]:
    factory = d.default_factory
    if factory is not None and "<lambda>" in getattr(factory, "__qualname__", ""):
        factory = _CopyFactory(factory())
    return collections.defaultdict, (factory,), None, None, iter(d.items())


_key_types: list[type] = []


def _private_key_types() -> list[type]:
    """The concrete classes behind cryptography's private-key interfaces (found once, by making keys)."""
    if not _key_types:
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        _key_types.extend(
            {
                type(rsa.generate_private_key(65537, 1024)),
                type(ec.generate_private_key(ec.SECP256R1())),
                type(ec.generate_private_key(ec.SECP384R1())),
                type(ed25519.Ed25519PrivateKey.generate()),
            }
        )
    return _key_types


def _pickler(buffer: io.BytesIO, in_copy: bool = False) -> pickle.Pickler:
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    for lock_type in _LOCK_TYPES:
        pickler.dispatch_table[lock_type] = _fresh_lock
    for key_type in _private_key_types():
        pickler.dispatch_table[key_type] = _key_as_der
    pickler.dispatch_table[collections.defaultdict] = _defaultdict
    # moto indexes some objects weakly (Lambda's functions by ARN); the objects themselves are
    # kept elsewhere in the state, so the index is rebuilt from its current contents.
    pickler.dispatch_table[weakref.WeakValueDictionary] = lambda d: (weakref.WeakValueDictionary, (dict(d),))
    pickler.dispatch_table[weakref.WeakKeyDictionary] = lambda d: (weakref.WeakKeyDictionary, (dict(d),))
    pickler.dispatch_table[weakref.WeakSet] = lambda d: (weakref.WeakSet, (list(d),))
    if in_copy:
        pickler.dispatch_table.update(moto_state.reducers_in_a_forked_copy())
    return pickler


def dump_state(extra: dict[str, Any], in_copy: bool = False) -> bytes:
    """All of moto's backends and ``extra``, as one consistent pickle (``in_copy``: taken in a
    forked copy of the emulator, :mod:`workshop.emulator.snapshot_fork`).

    In the emulator, other threads are kept from running while it is taken (pickling into memory
    never waits on I/O), so no request changes the state halfway through; a copy has no other
    thread to hold."""
    buffer = io.BytesIO()
    with contextlib.nullcontext() if in_copy else snapshot_fork.others_held():
        state = {
            "format": FORMAT,
            "moto": moto_state.MOTO_VERSION,
            "extra": extra,
            "backends": moto_state.backend_state(),
        }
        _pickler(buffer, in_copy).dump(state)
    return buffer.getvalue()


def load_state(data: bytes) -> dict[str, Any]:
    """Put the backends of a snapshot in place; returns its ``extra``."""
    state = pickle.loads(data)
    if state.get("format") != FORMAT or state.get("moto") != moto_state.MOTO_VERSION:
        raise ValueError(f"saved by another version (format {state.get('format')}, moto {state.get('moto')})")
    moto_state.restore_backend_state(state["backends"])
    return state["extra"]


class Snapshotter:
    """Writes the state after changes; :meth:`restore` reads it back at start."""

    def __init__(self, path: Path, extra: Callable[[], dict[str, Any]], key: bytes) -> None:
        self.path = path
        self._extra = extra
        self._key = key
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self.last_seconds = 0.0
        self.last_pause_seconds = 0.0  # of which the emulator stopped serving
        self.last_bytes = 0
        self.copied_writes = 0
        self._copies = snapshot_fork.supported()
        self.last_captured_at: float | None = None  # wall clock when the last saved state was read
        self.writes = 0
        self._thread: threading.Thread | None = None

    def restore(self, strict: bool = False) -> dict[str, Any] | None:
        """The saved ``extra`` after loading the backends, or None when there is nothing to load.

        ``strict`` (a class's emulator): a file that cannot be loaded stops the start instead
        of letting the class begin empty; it stays where it is."""
        if not self.path.exists():
            return None
        sealed = self.path.read_bytes()
        try:
            extra = load_state(unseal(sealed, self._key))
        except Exception as error:
            if strict:
                raise WorkshopError(
                    f"The saved state {self.path} cannot be loaded ({error}); a class's emulator does not "
                    "start empty by surprise: start it with --fresh to set the file aside and start empty."
                ) from None
            # never lose the file: move it aside and start empty
            aside = self.path.with_name(f"{self.path.name}.unreadable-{int(time.time())}")
            os.replace(self.path, aside)
            print(
                f"Could not load the saved state ({error!r}); it is kept as {aside.name}. Starting empty.",
                file=sys.stderr,
                flush=True,
            )
            return None
        write_private(self.path.with_name(self.path.name + ".previous"), sealed)  # what this run began with
        return extra

    def set_aside(self) -> None:
        """Start empty: keep the saved state under another name rather than delete it."""
        if self.path.exists():
            aside = self.path.with_name(f"{self.path.name}.set-aside-{int(time.time())}")
            os.replace(self.path, aside)
            print(f"Starting empty; the saved state is kept as {aside.name}.", flush=True)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="snapshots")
        self._thread.start()

    def changed(self) -> None:
        self._changed.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._changed.wait()
            if self._stop.is_set():
                return
            # Let a burst of requests finish, and keep snapshots to a small share of the time.
            if self._stop.wait(max(MIN_INTERVAL_SECONDS, self.last_seconds / MAX_SHARE_OF_TIME)):
                return  # stop() writes the last one
            self._changed.clear()
            try:
                self.write()
            except Exception as error:  # the emulator keeps serving; the next change retries
                print(f"saving the emulator's state failed: {error!r}", flush=True)

    def write(self) -> None:
        with self._write_lock:
            started, captured_at = time.perf_counter(), time.time()
            size = None
            if self._copies and not self._stop.is_set():  # stopping: nothing changes any more
                size = self._write_from_copy()
            if size is None:
                size = self._save(dump_state(self._extra()))
                self.last_pause_seconds = time.perf_counter() - started
            self.last_seconds = time.perf_counter() - started
            self.last_bytes = size
            self.last_captured_at = captured_at
            self.writes += 1

    def _write_from_copy(self) -> int | None:
        """The state saved by a forked copy of the emulator (its size), or None to save it here:
        a copy failed (an S3 object being written at that instant); after one that hung, always."""
        _private_key_types()  # found here once, not again in every copy
        try:
            size, self.last_pause_seconds = snapshot_fork.save_in_copy(
                self._extra, lambda extra: self._save(dump_state(extra, in_copy=True)), self._copy_timeout()
            )
        except snapshot_fork.CopyFailed as error:
            if isinstance(error, snapshot_fork.CopyTimedOut):
                self._copies = False
            print(f"{error}; saving it in the emulator{' from now on' if not self._copies else ''}", flush=True)
            return None
        self.copied_writes += 1
        return size

    def _copy_timeout(self) -> float:
        return max(COPY_TIMEOUT_SECONDS, 20 * self.last_seconds)

    def _save(self, data: bytes) -> int:
        partial = self.path.with_name(self.path.name + ".partial")
        write_private(partial, seal(data, self._key))
        os.replace(partial, self.path)  # a crash mid-write leaves the previous snapshot whole
        return len(data)

    def stats(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "writes": self.writes,
            "written_by_a_copy": self.copied_writes,
            "last_seconds": round(self.last_seconds, 4),
            "last_pause_seconds": round(self.last_pause_seconds, 4),
            "last_bytes": self.last_bytes,
            # what a crash now would keep: everything changed before this moment (seconds since the epoch)
            "last_captured_at": self.last_captured_at,
        }

    def stop(self) -> None:
        """Stop the background writer and write once more: a clean stop loses nothing."""
        self._stop.set()
        self._changed.set()
        if self._thread:
            self._thread.join(timeout=30)
        try:
            self.write()
        except Exception as error:
            print(
                f"saving the emulator's state at stop failed: {error!r}; the last snapshot is kept",
                file=sys.stderr,
                flush=True,
            )
