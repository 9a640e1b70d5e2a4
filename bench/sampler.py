#!/usr/bin/env python3
"""Run ``python -m workshop <args>`` under a sampling profiler of every thread.

    python bench/sampler.py OUT.txt -- serve --port 4567 --quiet

cProfile sees one thread; the emulator's time is spread over request, delivery, poller and
invoker threads. Every 5 ms this takes each thread's stack (``sys._current_frames``) and
counts it; on exit OUT.txt lists the functions where threads spent their time (self and
total, over the threads that were not idle waiting).
"""

from __future__ import annotations

import collections
import runpy
import sys
import threading
import time

INTERVAL = 0.005
# Frames where a thread merely waits: not where time is spent.
_IDLE = {
    ("threading.py", "wait"),
    ("selectors.py", "select"),
    ("socketserver.py", "serve_forever"),
    ("queue.py", "get"),
    ("threading.py", "_wait_for_tstate_lock"),
    ("socket.py", "readinto"),
    ("protocol.py", "receive"),
    ("subprocess.py", "_wait"),
    ("socket.py", "accept"),
    ("threading.py", "join"),
    ("sampler.py", "_sample"),
    ("execution_environment.py", "_drain_stderr"),
    ("protocol.py", "_read_exactly"),
    ("fork_server.py", "_read"),
    ("thread.py", "_worker"),
}


def _where(frame) -> tuple[str, str, int]:
    code = frame.f_code
    return code.co_filename.rsplit("/", 1)[-1], code.co_name, frame.f_lineno


def main() -> None:
    out, args = sys.argv[1], sys.argv[sys.argv.index("--") + 1 :]
    own: collections.Counter = collections.Counter()
    total: collections.Counter = collections.Counter()
    samples = [0]
    stop = threading.Event()
    me = threading.get_ident()

    def _sample() -> None:
        while not stop.wait(INTERVAL):
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                leaf = _where(frame)
                if (leaf[0], leaf[1]) in _IDLE:
                    continue
                samples[0] += 1
                own[leaf[:2]] += 1
                seen = set()
                while frame is not None:
                    where = _where(frame)[:2]
                    if where not in seen:
                        total[where] += 1
                        seen.add(where)
                    frame = frame.f_back

    threading.Thread(target=_sample, daemon=True, name="sampler").start()
    sys.argv = ["workshop", *args]
    started = time.monotonic()
    try:
        runpy.run_module("workshop", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        stop.set()
        with open(out, "w") as report:
            report.write(
                f"{samples[0]} busy thread samples every {INTERVAL * 1000:.0f} ms over "
                f"{time.monotonic() - started:.1f} s\n\nself\n"
            )
            for (file, name), count in own.most_common(40):
                report.write(f"{count / max(1, samples[0]):6.1%}  {file}:{name}\n")
            report.write("\ntotal (self and callees)\n")
            for (file, name), count in total.most_common(80):
                report.write(f"{count / max(1, samples[0]):6.1%}  {file}:{name}\n")


if __name__ == "__main__":
    main()
