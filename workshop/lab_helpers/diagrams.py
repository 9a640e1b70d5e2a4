"""A diagram a notebook cell shows: mermaid, which JupyterLab draws, with a text beside it.

A cell's value that is a :class:`Diagram` is drawn by JupyterLab's mermaid renderer (MIME type
``text/vnd.mermaid``, and a Markdown ``mermaid`` block for front ends that read Markdown only);
a terminal, a plain Jupyter front end and nbval read its ``text/plain``: the same story in lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Diagram", "label"]

MERMAID = "text/vnd.mermaid"


@dataclass(frozen=True)
class Diagram:
    mermaid: str
    text: str
    notes: tuple[str, ...] = field(default=())  # lines said under the diagram, and in the text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        said = "".join(f"\n\n{note}" for note in self.notes)
        return {
            MERMAID: self.mermaid,
            "text/markdown": f"```mermaid\n{self.mermaid}\n```{said}",
            "text/plain": self.text + "".join(f"\n{note}" for note in self.notes),
        }

    def __str__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]


def label(text: str) -> str:
    """``text`` safe inside a mermaid message or node label (no quotes, semicolons, hashes or
    arrows that mermaid would read as syntax)."""
    return re.sub(r"[\"';#<>{}]", "", text).replace("\n", " ").strip() or "-"
