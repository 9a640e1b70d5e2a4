"""Save the emulator's state from a forked copy of it, while the emulator goes on serving.

Pickling the state holds the interpreter, with every other thread kept from running so that no
request changes the state halfway: every caller waits, for seconds once the state is large (a
10,000-file pipeline: 7% of its throughput). ``fork()`` copies the process in milliseconds,
memory shared copy-on-write, with the forking thread alone; the copy pickles the state as it
was at that instant and writes it, on another core, while the emulator serves on.

Linux only. There the copy's life is tied to the emulator's (``PR_SET_PDEATHSIG``: a killed
emulator leaves no copy writing an old state over a newer one, or holding its port); forking a
threaded process is unsafe elsewhere (macOS's system libraries), where the state is pickled in
the emulator itself, as it is here when a copy fails.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["CopyFailed", "CopyTimedOut", "others_held", "save_in_copy", "supported"]

Captured = TypeVar("Captured")
_PR_SET_PDEATHSIG = 1  # linux/prctl.h

# Python 3.12+ warns that a threaded process's fork may deadlock in the child: a lock held by a
# thread the copy does not have. The copy takes none but its own (S3 objects are read without
# theirs, moto_adapters.state), and one that hangs anyway is killed at its timeout.
warnings.filterwarnings("ignore", r".*multi-threaded, use of fork\(\) may lead to deadlocks", DeprecationWarning)


class CopyFailed(RuntimeError):
    """The copy did not save the state."""


class CopyTimedOut(CopyFailed):
    """The copy did not finish in time and was stopped."""


def supported() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork")


@contextlib.contextmanager
def others_held() -> Iterator[None]:
    """No other thread of this process runs inside (a long switch interval; what runs here must
    not wait on I/O or a lock), so what is read inside is the state of one instant."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def save_in_copy(capture: Callable[[], Captured], save: Callable[[Captured], int], timeout: float) -> tuple[int, float]:
    """``capture()`` here, then ``save(captured)`` in a copy of this process forked right after
    it, no other thread running in between. Returns what ``save`` returned and how long this
    process paused; raises :class:`CopyFailed` if the copy failed or ran past ``timeout`` s."""
    import ctypes  # noqa: F401  (imported here, once: the copy uses it at once)

    read_end, write_end = os.pipe()
    parent, started = os.getpid(), time.perf_counter()
    with others_held():  # no other thread runs between the capture and the fork
        captured = capture()
        pid = os.fork()
        if pid == 0:
            _be_the_copy(save, captured, parent, read_end, write_end)
    paused = time.perf_counter() - started
    os.close(write_end)
    try:
        return _answer(pid, read_end, timeout), paused
    finally:
        os.close(read_end)


def _be_the_copy(save: Callable[[Any], int], captured: Any, parent: int, read_end: int, write_end: int) -> None:
    """Save, report on the pipe, and end without running anything of the emulator's (no exit
    handlers, no flushing of buffers the emulator will flush itself)."""
    answer, code = "failed: the copy ended early", 1
    try:
        os.close(read_end)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)  # the emulator's handlers would set its stop event here
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the emulator died before the tie was made
            os._exit(1)
        answer, code = f"ok {save(captured)}", 0
    except BaseException as error:
        answer = f"failed: {error!r}"
    finally:
        try:
            os.write(write_end, answer.encode()[:4096])
        finally:
            os._exit(code)


def _answer(pid: int, read_end: int, timeout: float) -> int:
    ready, _, _ = select.select([read_end], [], [], timeout)
    if not ready:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise CopyTimedOut(f"the copy saving the state ran past {timeout:.0f} s and was stopped")
    chunks = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.waitpid(pid, 0)
    message = b"".join(chunks).decode(errors="replace")
    if not message.startswith("ok "):
        raise CopyFailed(f"the copy saving the state {message or 'ended without a word'}")
    return int(message[3:])
