"""Where the kit's folders are: the one place that knows the repository's shape."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT_ROOT / "notebooks"
SOLUTIONS = PROJECT_ROOT / "solutions"
LABS = PROJECT_ROOT / "labs"

__all__ = ["LABS", "NOTEBOOKS", "PROJECT_ROOT", "SOLUTIONS", "write_private"]


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by this user alone: created with that mode (never widened after),
    replacing any file there (a secret or a state file never inherits an older file's mode)."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
