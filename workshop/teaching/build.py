"""Generate labs/ from solutions/: the solutions are the single source of every exercise.

In a solution notebook, the exercise part of a code cell sits between markers; in the lab it
becomes its prompt and a placeholder (:mod:`workshop.teaching.solution_markers`). Cells tagged
``instructor`` or ``solution`` are left out, outputs are cleared. ``python -m workshop labs --check``
fails when labs/ is not what solutions/ generate (CI runs it through the tests).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from workshop.core.paths import PROJECT_ROOT
from workshop.teaching.solution_markers import strip_solutions

ROOT = PROJECT_ROOT
HIDDEN_TAGS = {"instructor", "solution"}


def lab_from_solution(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    # The kernel only; the solution's executed language_info (interpreter version) is not the lab's business.
    metadata = {"kernelspec": solution.metadata.get("kernelspec", {}), "language_info": {"name": "python"}}
    lab = nbformat.v4.new_notebook(metadata=metadata)
    for index, cell in enumerate(solution.cells, 1):
        if HIDDEN_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        if cell.cell_type == "code":
            source = strip_solutions(cell.source, f"{name}, cell {index}")
            copy = nbformat.v4.new_code_cell(source, metadata=_kept_metadata(cell))
        elif cell.cell_type == "markdown":
            copy = nbformat.v4.new_markdown_cell(cell.source, metadata=_kept_metadata(cell))
        else:
            copy = nbformat.v4.new_raw_cell(cell.source, metadata=_kept_metadata(cell))
        copy.pop("id", None)
        lab.cells.append(copy)
    return lab


def _kept_metadata(cell: nbformat.NotebookNode) -> dict:
    tags = [t for t in cell.get("metadata", {}).get("tags", []) if t not in HIDDEN_TAGS]
    return {"tags": tags} if tags else {}


def render(notebook: nbformat.NotebookNode) -> str:
    """Stable text, so an unchanged solution gives a byte-identical lab."""
    for number, cell in enumerate(notebook.cells, 1):
        cell["id"] = f"cell-{number:03d}"
    return nbformat.writes(notebook) + "\n"


def build(solutions: Path = ROOT / "solutions", labs: Path = ROOT / "labs", check: bool = False) -> list[str]:
    """Write (or, with ``check``, compare) every lab; returns the labs that were out of date."""
    stale = []
    for path in sorted(solutions.glob("*.ipynb")):
        text = render(lab_from_solution(nbformat.read(path, as_version=4), path.name))
        target = labs / path.name
        if not target.exists() or target.read_text() != text:
            stale.append(target.name)
            if not check:
                labs.mkdir(exist_ok=True)
                target.write_text(text)
    for orphan in sorted(set(p.name for p in labs.glob("*.ipynb")) - set(p.name for p in solutions.glob("*.ipynb"))):
        stale.append(orphan)
        if not check:
            (labs / orphan).unlink()
    return stale
