"""How a solution notebook marks what its lab leaves to the learner, as plain text.

The exercise part of a code cell sits between markers::

    # BEGIN SOLUTION: configure the bucket notification
    s3.put_bucket_notification_configuration(...)
    # END SOLUTION

In the lab, that part becomes the one-line prompt and a ``pass`` placeholder, so the cell
still runs, prints nothing, and the check reports "not attempted". (``...`` would read
better, but a notebook echoes a trailing ``...`` as ``Ellipsis``.)

Apart from :mod:`workshop.teaching.build` (which reads and writes notebooks) because the checks
read a learner's handler file with it: a check must not import nbformat, whose JSON-schema
validator takes seconds to import and would make every notebook's first check wait for it.
"""

from __future__ import annotations

import itertools
import re

__all__ = ["BEGIN", "DEFAULT_PROMPT", "END", "PLACEHOLDER", "BuildError", "strip_solutions", "untouched_prompts"]

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?::\s*(?P<prompt>.*\S))?\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
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
