"""Handler workers in a sandbox, for an emulator that serves more than its own user.

A worker is a process of the emulator's OS user: on a laptop, the learner's own code run by the
learner, nothing to guard. An emulator serving a room runs every participant's code, so there
each worker starts inside bubblewrap (``bwrap``, the sandbox Flatpak uses), which gives it:

- a filesystem of its own: the system's ``/usr``, a few files of ``/etc`` (name resolution,
  certificates), the Python installation and the kit's runtime package, all read-only; the
  function's code read-only at ``/var/task``; an empty ``/tmp`` of its own, in memory. No home
  directory, no other function's code, nothing else of the machine.
- its own process namespace: the emulator's processes (and their ``/proc/<pid>/environ``) are
  not there, and when the worker stops, its namespace ends and every process a handler started
  ends with it, ``setsid`` or not.
- AWS's limits on one execution environment: processes and threads, file descriptors, a file's
  size (the size of ``/tmp``), CPU time; the memory limit is the runtime's own (``bootstrap``).

Not isolated: the network (a handler must reach the emulator's endpoint, so it can reach what the
machine can), and each limit is per worker, not for the room: ``lambda_concurrency`` workers per
function, each with its ``/tmp`` in memory.

As root (a container, a CI machine) the process limit would not hold (Linux never enforces
RLIMIT_NPROC for uid 0), so the worker drops to an unprivileged uid of its own with ``setpriv``
once the sandbox's mounts are made (they need root to read an interpreter under ``/root``).
As any other user, bubblewrap runs in a user namespace, in which the process count is the
sandbox's own.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

from workshop.core.errors import WorkshopError

__all__ = [
    "CPU_SECONDS",
    "FILE_DESCRIPTORS",
    "PACKAGE_ROOT",
    "PROCESSES",
    "TASK_ROOT",
    "TMP_MB",
    "Sandbox",
    "for_server",
    "unavailable_reason",
]

# AWS's limits on one execution environment: "File descriptors 1,024", "Execution
# processes/threads 1,024" (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
PROCESSES: Final = 1024
FILE_DESCRIPTORS: Final = 1024
# /tmp is 512 MB unless the function asks for more
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-ephemeral-storage.html).
TMP_MB: Final = 512
# The longest an invocation may run is 900 seconds
# (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): the CPU a worker may
# use over its life, however many invocations it serves (an idle worker stops after minutes).
CPU_SECONDS: Final = 900
TASK_ROOT: Final = "/var/task"  # where AWS puts the function's code
# The folder holding the kit's package as the emulator imported it: first on a worker's path, so
# that the worker runs this copy of the runtime (not another checkout's editable install), and
# the one let into the sandbox.
PACKAGE_ROOT: Final = Path(__file__).resolve().parents[3]

# What of /etc a Python handler needs: resolving names, TLS certificates, the time zone data.
_ETC = (
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/nsswitch.conf",
    "/etc/resolv.conf",
    "/etc/gai.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/localtime",
)
# A uid of its own for each worker when the emulator runs as root: far above the system's and
# people's uids, from a random start so that two emulators on one machine rarely share one.
_UIDS = itertools.count(random.randrange(1_000_000_000, 2_000_000_000, 1_000_000))


def for_server(shared: bool, forced: bool, unsandboxed: bool) -> Sandbox | None:
    """The sandbox an emulator's workers start in: one when it listens beyond loopback
    (``shared``) unless ``unsandboxed`` (``serve --unsandboxed-handlers``), or when ``forced``
    (``WORKSHOP_SANDBOX_HANDLERS=on``); None on a learner's own loopback emulator. Refuses, in
    one line, to serve a room where no sandbox can be made."""
    if not forced and (not shared or unsandboxed):
        return None
    reason = unavailable_reason()
    if reason is None:
        return Sandbox()
    if forced:
        raise WorkshopError(f"WORKSHOP_SANDBOX_HANDLERS=on, but {reason}.")
    raise WorkshopError(
        f"Not serving beyond this machine: {reason}, and every participant's handler would run as this user, "
        "with this user's files. Pass --unsandboxed-handlers to serve anyway."
    )


@functools.cache
def unavailable_reason() -> str | None:
    """Why handlers cannot be sandboxed on this machine, in one sentence; None when they can.
    Tried for real once: a sandboxed interpreter must start and import the runtime."""
    if not sys.platform.startswith("linux"):
        return f"the handler sandbox needs Linux (this is {sys.platform})"
    if shutil.which("bwrap") is None:
        return "the handler sandbox needs bubblewrap (apt-get install bubblewrap), which is not installed"
    if os.geteuid() == 0 and (shutil.which("setpriv") is None or shutil.which("prlimit") is None):
        return "the handler sandbox needs setpriv and prlimit (util-linux) to run handlers as root"
    if shutil.which("prlimit") is None:
        return "the handler sandbox needs prlimit (util-linux), which is not installed"
    argv = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(PACKAGE_ROOT)!r}); import workshop.aws"]
    try:
        probe = subprocess.run(
            Sandbox().command(argv, Path("/")),
            env={},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not start a sandbox: {error}"
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
        return f"bubblewrap could not start a sandbox ({last}); user namespaces may be disabled"
    return None


class Sandbox:
    """Wraps a worker's command line in bubblewrap; what the sandbox lets in is decided once."""

    def __init__(self) -> None:
        self._mounts = _system_mounts() + _python_mounts()

    def command(self, argv: list[str], task_root: Path) -> list[str]:
        """``argv`` run in a fresh sandbox with ``task_root`` at /var/task."""
        root = os.geteuid() == 0
        # No --die-with-parent: it signals when the *thread* that started bwrap ends (prctl's
        # PR_SET_PDEATHSIG), and a worker is started by the request that needed it, so every warm
        # worker died after its first invocation. The worker leaves when its control pipe closes
        # (the emulator stopped or died), and its PID namespace ends everything it started.
        options = [
            _tool("bwrap"),
            "--new-session",  # no terminal to push keystrokes into
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ]
        if not root:
            # Without privileges bubblewrap needs a user namespace; the handler gets no second one.
            options += ["--unshare-user", "--disable-userns"]
        # /tmp first: what is mounted after it (an installation under /tmp) stays visible in it.
        options += ["--perms", "1777", "--size", str(TMP_MB * 1024 * 1024), "--tmpfs", "/tmp"]
        options += ["--proc", "/proc", "--dev", "/dev"]
        options += self._mounts
        options += ["--perms", "0755", "--dir", str(Path(TASK_ROOT).parent)]
        options += ["--ro-bind", str(task_root), TASK_ROOT, "--chdir", TASK_ROOT]
        options.append("--")
        if root:
            uid = str(next(_UIDS))
            options += [
                _tool("setpriv"),
                f"--reuid={uid}",
                f"--regid={uid}",
                "--clear-groups",
                "--no-new-privs",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--",
            ]
        # Set inside the namespace: set before it, the process limit would count the user's own
        # processes too (a user namespace's count is checked against its creator's limit).
        options += [
            _tool("prlimit"),
            f"--nproc={PROCESSES}",
            f"--nofile={FILE_DESCRIPTORS}",
            f"--cpu={CPU_SECONDS}",
            f"--fsize={TMP_MB * 1024 * 1024}",
            "--core=0",
            "--",
        ]
        return options + argv


def _tool(name: str) -> str:
    return shutil.which(name) or name


def _system_mounts() -> list[str]:
    mounts = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            mounts += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            mounts += ["--ro-bind", top, top]
    for path in _ETC:
        mounts += ["--ro-bind-try", path, path]
    return mounts


def _python_mounts() -> list[str]:
    """The interpreter, the environment's packages and the kit's package, where the emulator has
    them (the worker starts the same ``sys.executable``), read-only, with parent folders anyone
    may pass through: bubblewrap would make them as closed as root's own home."""
    wanted = {sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix}
    wanted.add(str(PACKAGE_ROOT / "workshop"))
    paths: list[str] = []
    for path in sorted(os.path.abspath(p) for p in wanted):
        if path.startswith("/usr/") or path == "/usr" or any(path.startswith(kept + os.sep) for kept in paths):
            continue
        paths.append(path)
    mounts: list[str] = []
    made: set[str] = set()
    for path in paths:
        for parent in reversed(Path(path).parents[:-1]):  # outermost first, / left out
            if str(parent) not in made and str(parent) != "/tmp":
                made.add(str(parent))
                mounts += ["--perms", "0755", "--dir", str(parent)]
        mounts += ["--ro-bind", path, path]
    return mounts
