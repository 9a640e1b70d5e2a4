"""Where the kit's folders are: the one place that knows the repository's shape."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT_ROOT / "notebooks"
SOLUTIONS = PROJECT_ROOT / "solutions"
LABS = PROJECT_ROOT / "labs"

__all__ = ["LABS", "NOTEBOOKS", "PROJECT_ROOT", "SOLUTIONS"]
