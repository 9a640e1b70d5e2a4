"""How long a notebook or lab takes a learner, measured from what it asks them to read and do.

The minutes in each notebook's header and in INSTRUCTOR.md's agenda come from here, so they
stay true when a notebook changes: prose is read at 200 words a minute, code at 10 lines a
minute, an exercise takes 8 minutes (reading, writing, one wrong check, the fix) and a
"check your understanding" question one. A lab section whose heading says "(stretch)" is
counted apart: the core of every lab fits a 45-minute lunch, the stretch is for those who
have time left. Rounded up to 5 minutes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

# nbformat is imported where a notebook is read, not when a notebook imports the kit: its schema
# checks cost a kernel 1.2 s of CPU at import (jsonschema builds rfc3987_syntax's grammar).
if TYPE_CHECKING:
    import nbformat

WORDS_PER_MINUTE = 200
CODE_LINES_PER_MINUTE = 10
MINUTES_PER_EXERCISE = 8
MINUTES_PER_QUESTION = 1
LUNCH_MINUTES = 45
CHECK_CALL = re.compile(r"""^\s*check\(\s*["']\d+\.(?P<question>q)?\d+["']\s*\)""", re.MULTILINE)
STRETCH_HEADING = re.compile(r"^##\s.*\(stretch\)", re.MULTILINE | re.IGNORECASE)
SECTION_HEADING = re.compile(r"^##\s", re.MULTILINE)
# The header line every notebook opens with, right under its title.
HEADER = re.compile(
    r"^\*\*(?P<minutes>\d+) minutes\*\*(?: \(\+(?P<stretch>\d+) stretch\))? · "
    r"level: (?P<level>introductory|intermediate|advanced) · before: (?P<before>.+)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Estimate:
    core: int  # minutes, rounded up to 5
    stretch: int = 0

    def header_time(self) -> str:
        return f"**{self.core} minutes**" + (f" (+{self.stretch} stretch)" if self.stretch else "")


def _minutes(cells: list[nbformat.NotebookNode]) -> float:
    words = sum(len(re.findall(r"\w+", c.source)) for c in cells if c.cell_type == "markdown")
    lines = sum(1 for c in cells if c.cell_type == "code" for line in c.source.splitlines() if line.strip())
    checks = [m for c in cells if c.cell_type == "code" for m in CHECK_CALL.finditer(c.source)]
    questions = sum(1 for m in checks if m["question"])
    return (
        words / WORDS_PER_MINUTE
        + lines / CODE_LINES_PER_MINUTE
        + MINUTES_PER_EXERCISE * (len(checks) - questions)
        + MINUTES_PER_QUESTION * questions
    )


def _round_up(minutes: float) -> int:
    return int(math.ceil(minutes / 5) * 5) if minutes > 0 else 0


def split_stretch(cells: list[nbformat.NotebookNode]) -> tuple[list, list]:
    """The cells of the core and of the stretch sections (from a "(stretch)" heading to the next ##)."""
    core, stretch, in_stretch = [], [], False
    for cell in cells:
        if cell.cell_type == "markdown" and SECTION_HEADING.search(cell.source):
            in_stretch = bool(STRETCH_HEADING.search(cell.source))
        (stretch if in_stretch else core).append(cell)
    return core, stretch


def estimate(path: Path) -> Estimate:
    """The learner's time for a notebook as the learner gets it (for a lab: the file in labs/)."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    core, stretch = split_stretch(notebook.cells)
    return Estimate(_round_up(_minutes(core)), _round_up(_minutes(stretch)))
