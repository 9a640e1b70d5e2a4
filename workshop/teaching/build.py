"""Generate labs/ from solutions/: the solutions are the single source of every exercise.

In a solution notebook, the exercise part of a code cell sits between markers::

    # BEGIN SOLUTION: configure the bucket notification
    s3.put_bucket_notification_configuration(...)
    # END SOLUTION

In the lab, that part becomes the one-line prompt and a ``pass`` placeholder, so the cell
still runs, prints nothing, and the check reports "not attempted". (``...`` would read
better, but a notebook echoes a trailing ``...`` as ``Ellipsis``.) Cells tagged ``instructor`` or
``solution`` are left out, outputs are cleared. ``python -m workshop labs --check`` fails when
labs/ is not what solutions/ generate (CI runs it through the tests).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import nbformat

from workshop.core.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?::\s*(?P<prompt>.*\S))?\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
HIDDEN_TAGS = {"instructor", "solution"}
DEFAULT_PROMPT = "your code here"
PLACEHOLDER = "pass"


class BuildError(ValueError):
    """A solution notebook whose markers cannot be turned into a lab."""


def untouched_prompts(source: str) -> list[str]:
    """The prompts of a lab's exercises that still stand above their placeholder:
    what a check calls "not attempted" when it reads a learner's handler file."""
    lines = [line.strip() for line in source.splitlines()]
    return [
        line.removeprefix("# TODO:").strip()
        for line, following in itertools.pairwise(lines)
        if line.startswith("# TODO:") and following == PLACEHOLDER
    ]


def strip_solutions(source: str, where: str) -> str:
    """Replace every marked solution block by its prompt and a placeholder."""
    lines, out, inside = source.split("\n"), [], None
    for number, line in enumerate(lines, 1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if inside:
                raise BuildError(f"{where}, line {number}: BEGIN SOLUTION inside another solution block")
            inside = begin
            indent = begin.group("indent")
            out += [f"{indent}# TODO: {begin.group('prompt') or DEFAULT_PROMPT}", f"{indent}{PLACEHOLDER}"]
        elif end:
            if not inside:
                raise BuildError(f"{where}, line {number}: END SOLUTION without BEGIN SOLUTION")
            inside = None
        elif not inside:
            out.append(line)
    if inside:
        raise BuildError(f"{where}: BEGIN SOLUTION is never closed by END SOLUTION")
    return "\n".join(out)


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
