"""A progress bar that shows while a loop runs and leaves one summary line behind.

tqdm redraws its bar on stderr several times a second, and a notebook keeps every redraw: a
stored notebook held a pile of half-drawn bars, different after each run. ``bar`` draws tqdm's
bar live, then removes it and prints one line, ``uploading: 20 files in 0.2 s``:

- in a notebook kernel, into a single output it updates in place and empties at the end (a
  notebook run by nbclient stores that output empty; nbval, which ignores updates, sees it empty
  from the start, so stored outputs compare equal however fast the loop ran);
- elsewhere (a terminal), as tqdm's own bar on stderr, cleared at the end (``leave=False``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


class _InPlaceOutput:
    """A file for tqdm that redraws one notebook output instead of appending to stderr."""

    encoding = "utf-8"  # tqdm draws its Unicode blocks only for a file that says so

    def __init__(self) -> None:
        from IPython.display import display

        self._handle = display({"text/plain": ""}, raw=True, display_id=True)
        self._shown = ""

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()  # tqdm writes "\r", the bar, then padding
        if line != self._shown:
            self._shown = line
            self._handle.update({"text/plain": line}, raw=True)

    def flush(self) -> None:
        pass


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def bar(items: Iterable[T], desc: str, unit: str = "item", total: int | None = None, **options: Any) -> Iterator[T]:
    """Iterate over ``items`` with a live progress bar; when done, print one line saying how many
    ``unit``s took how long (or, when the loop stopped early, how far it got)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    output = _InPlaceOutput() if _in_kernel() else sys.stderr
    started = time.perf_counter()
    done = 0
    progress = tqdm(items, desc=desc, unit=unit, total=total, leave=False, file=output, **options)
    try:
        for item in progress:
            yield item
            done += 1
    finally:
        progress.close()
        seconds = time.perf_counter() - started
        count = f"{done} {unit}{'' if done == 1 else 's'}"
        if total is not None and done < total:
            count = f"{done} of {total} {unit}s, stopped,"
        print(f"{desc}: {count} in {seconds:.1f} s", flush=True)
