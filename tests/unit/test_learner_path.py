"""What a learner alone needs is in front of them: every notebook and lab opens with its time
(measured by workshop.teaching.pacing), level, what comes before and what they will be able to do, and
ends with key points, questions graded by check(), AWS pages to read next and what to clean up;
every lab's core fits a lunch break; INSTRUCTOR.md and the README plan with the same minutes."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.teaching import grading, pacing

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LABS = sorted((ROOT / "labs").glob("*.ipynb"))
CLOSING = ("## Key points", "## Check your understanding", "## Read next", "## Clean up")
QUESTION_CHECK = re.compile(r"""^\s*check\(\s*["'](?P<id>\d+\.q\d+)["']\s*\)""", re.MULTILINE)
CHOICE = re.compile(r"^- (?P<letter>[a-z])\) ", re.MULTILINE)  # "- b) the new code, once Lambda ..."


def cells(path: Path) -> list[nbformat.NotebookNode]:
    return nbformat.read(path, as_version=4).cells


def header(path: Path) -> re.Match:
    first = cells(path)[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), f"{path.name} opens with its title"
    found = pacing.HEADER.search(first.source)
    assert found, f"{path.name}'s first cell has no line like '**30 minutes** · level: ... · before: ...'"
    assert "**You will be able to**" in first.source, f"{path.name} says what the learner will be able to do"
    return found


@pytest.mark.parametrize("path", NOTEBOOKS + LABS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_opens_with_its_measured_time_level_prerequisites_and_objectives(path):
    found = header(path)
    measured = pacing.estimate(path)
    assert int(found["minutes"]) == measured.core, (
        f"{path.name}: the header says {found['minutes']} min, the measure {measured.core}"
    )
    assert int(found["stretch"] or 0) == measured.stretch


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.stem)
def test_a_labs_core_fits_a_lunch_break_and_its_first_cell_links_troubleshooting(path):
    assert pacing.estimate(path).core <= pacing.LUNCH_MINUTES
    assert "TROUBLESHOOTING.md" in cells(path)[0].source


@pytest.mark.parametrize("path", NOTEBOOKS + LABS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_ends_with_key_points_questions_reading_and_cleanup(path):
    sources = [c.source for c in cells(path)]
    positions = []
    for heading in CLOSING:
        where = [n for n, source in enumerate(sources) if source.lstrip().startswith(heading)]
        assert where, f"{path.name} has no '{heading}' section"
        positions.append(where[-1])
    assert positions == sorted(positions), f"{path.name}: the closing sections come in the order {CLOSING}"
    asked = [m["id"] for source in sources[positions[1] : positions[2]] for m in QUESTION_CHECK.finditer(source)]
    assert 2 <= len(asked) <= 3, f"{path.name} asks {len(asked)} questions; two or three"
    home = f"{'solutions' if path.parent.name == 'labs' else 'notebooks'}/{path.name}"
    registered = {q.id for q in grading.questions(asked_in=home)}
    assert set(asked) == registered, f"{path.name}: every question asked is registered for it, and only those"
    assert "https://docs.aws.amazon.com/" in sources[positions[2]], f"{path.name}'s 'Read next' links AWS's pages"


@pytest.mark.parametrize("question", grading.questions(), ids=lambda q: q.id)
def test_a_questions_choices_answer_cell_and_registration_agree(question):
    """The markdown above a question's check lists exactly the choices its why explains, and the
    cell sets the registered answer in the solution, None where the learner answers."""
    sources = cells(ROOT / question.asked_in)
    where = [
        n
        for n, c in enumerate(sources)
        if c.cell_type == "code" and any(m["id"] == question.id for m in QUESTION_CHECK.finditer(c.source))
    ]
    assert len(where) == 1, f"{question.asked_in} checks {question.id} in one cell"
    prompt, cell = sources[where[0] - 1], sources[where[0]]
    assert prompt.cell_type == "markdown" and prompt.source.startswith(f"**{question.id}**"), (
        f"{question.id} is asked in the markdown cell right above its check"
    )
    assert tuple(CHOICE.findall(prompt.source)) == question.choices, (
        f"{question.id}: the choices asked are the ones its why explains, in order"
    )
    variable = f"q{question.id.split('.q', 1)[1]}"
    given = re.findall(rf"^{variable} = (\S+)", cell.source, re.MULTILINE)
    expected = f'"{question.answer}"' if question.asked_in.startswith("solutions/") else "None"
    assert given == [expected], f"{question.asked_in}: {question.id}'s cell sets {variable} = {expected}"


def test_no_letter_is_the_safe_guess():
    """Guessing one letter pays no better than chance: over all questions each choice is right about a
    third of the time, and within a step no letter is right for more than half of its questions."""
    questions = grading.questions()
    counts = Counter(q.answer for q in questions)
    for letter in "abc":
        assert abs(counts[letter] - len(questions) / 3) <= 2, (
            f"right answers per letter: {dict(sorted(counts.items()))}"
        )
    for lab in sorted({q.lab for q in questions}, key=int):
        answers = [q.answer for q in questions if q.lab == lab]
        assert max(Counter(answers).values()) <= len(answers) / 2, f"step {lab}'s right answers: {answers}"


def test_solutions_open_as_their_labs_do():
    for lab in LABS:
        assert cells(ROOT / "solutions" / lab.name)[0].source == cells(lab)[0].source


def _agenda() -> dict[str, dict[str, str]]:
    """INSTRUCTOR.md's agenda table, by step number."""
    text = (ROOT / "INSTRUCTOR.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    head = next(r for r in rows if "walkthrough (min)" in r)
    names = [part.strip() for part in head.strip("|").split("|")]
    table = {}
    for row in rows[rows.index(head) + 2 :]:
        values = [part.strip() for part in row.strip("|").split("|")]
        if len(values) != len(names) or not values[0][:1].isdigit():
            continue
        table[values[0].split()[0]] = dict(zip(names, values, strict=True))
    return table


def test_instructor_agenda_plans_with_the_measured_minutes():
    agenda = _agenda()
    for path in NOTEBOOKS:
        step = str(int(path.name[:2]))
        lab = next(ROOT.glob(f"labs/{path.name[:2]}_*.ipynb"))
        assert agenda[step]["walkthrough (min)"] == str(pacing.estimate(path).core), step
        lab_time = pacing.estimate(lab)
        expected = str(lab_time.core) + (f" (+{lab_time.stretch})" if lab_time.stretch else "")
        assert agenda[step]["lab (min)"] == expected, step


def test_the_readmes_lunch_path_fits_45_minutes():
    """Each line of the README's lunch path, a lab alone or a walkthrough with a lab, fits 45
    minutes by the same measure as the headers, and together they reach every lab."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Lunch path", 1)
    assert len(section) == 2, "README names a lunch path"
    lunches = re.findall(r"^\d+\. (.*)$", section[1].split("\n## ", 1)[0], re.MULTILINE)
    assert lunches, "the lunch path lists its lunches"
    labs_reached = set()
    for lunch in lunches:
        paths = re.findall(r"`((?:notebooks|labs)/\d\d_\w+)`", lunch)
        assert any(p.startswith("labs/") for p in paths), f"a lunch does a lab: {lunch}"
        minutes = sum(pacing.estimate(ROOT / f"{p}.ipynb").core for p in paths)
        assert minutes <= pacing.LUNCH_MINUTES, f"{lunch}: {minutes} min"
        said = re.search(r"\(([\d +]+) min", lunch)
        assert said and sum(int(n) for n in said[1].split("+")) == minutes, (
            f"{lunch}: says {said and said[1]}, measured {minutes}"
        )
        labs_reached |= {p for p in paths if p.startswith("labs/")}
    assert labs_reached == {f"labs/{lab.stem}" for lab in LABS}, "the lunch path reaches every lab"


def test_the_estimate_counts_reading_exercises_questions_and_stretch(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# T\n" + "word " * 400),  # 2 min of reading
            nbformat.v4.new_code_cell("\n".join(f"x{n} = {n}" for n in range(20))),  # 2 min of code
            nbformat.v4.new_code_cell('check("1.1")'),  # 8 min, and 0.1 min for the line
            nbformat.v4.new_markdown_cell("## More (stretch)\n" + "word " * 200),
            nbformat.v4.new_code_cell('check("1.2")\ncheck("1.q1")'),
        ]
    )
    path = tmp_path / "n.ipynb"
    nbformat.write(notebook, path)
    assert pacing.estimate(path) == pacing.Estimate(core=15, stretch=15)
