"""labs/ generated from solutions/: exercises stripped, instructor cells gone, always up to date."""

import nbformat
import pytest

from workshop.teaching import build, solution_markers


def _solution(*cells):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = list(cells)
    return notebook


def test_solution_blocks_become_prompts_and_placeholders():
    source = (
        "import boto3\n"
        "def handler(event, context):\n"
        "    # BEGIN SOLUTION: decode the key with unquote_plus\n"
        "    key = unquote_plus(event['Records'][0]['s3']['object']['key'])\n"
        "    # END SOLUTION\n"
        "    return key\n"
    )
    stripped = solution_markers.strip_solutions(source, "x")
    assert stripped == (
        "import boto3\n"
        "def handler(event, context):\n"
        "    # TODO: decode the key with unquote_plus\n"
        "    pass\n"
        "    return key\n"
    )
    compile(stripped, "lab", "exec")  # the lab cell still parses
    assert (
        solution_markers.strip_solutions("# BEGIN SOLUTION\nx = 1\n# END SOLUTION", "x")
        == "# TODO: your code here\npass"
    )


@pytest.mark.parametrize(
    "source, problem",
    [
        ("# BEGIN SOLUTION\nx = 1\n", "never closed"),
        ("x = 1\n# END SOLUTION\n", "END SOLUTION without BEGIN"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "inside another"),
    ],
)
def test_unbalanced_markers_are_named(source, problem):
    with pytest.raises(solution_markers.BuildError, match=problem):
        solution_markers.strip_solutions(source, "01_s3_trigger.ipynb, cell 4")


def test_lab_drops_instructor_cells_and_outputs():
    answer = nbformat.v4.new_code_cell(
        "# BEGIN SOLUTION: create it\ncreate()\n# END SOLUTION",
        execution_count=3,
        outputs=[nbformat.v4.new_output("stream", text="done")],
    )
    notes = nbformat.v4.new_markdown_cell("say this", metadata={"tags": ["instructor"]})
    check = nbformat.v4.new_code_cell('check("1.1")', metadata={"tags": ["check"]})
    lab = build.lab_from_solution(_solution(notes, answer, check), "sample.ipynb")
    assert [c.source for c in lab.cells] == ["# TODO: create it\npass", 'check("1.1")']
    assert lab.cells[0].outputs == [] and lab.cells[0].execution_count is None
    assert lab.cells[1].metadata == {"tags": ["check"]}


def test_build_writes_checks_and_removes_orphans(tmp_path):
    solutions, labs = tmp_path / "solutions", tmp_path / "labs"
    solutions.mkdir()
    nbformat.write(_solution(nbformat.v4.new_code_cell("# BEGIN SOLUTION\n1\n# END SOLUTION")), solutions / "a.ipynb")
    assert build.build(solutions, labs, check=True) == ["a.ipynb"]
    assert build.build(solutions, labs) == ["a.ipynb"]
    assert build.build(solutions, labs, check=True) == [], "a second build changes nothing"
    (labs / "gone.ipynb").write_text("{}")
    assert build.build(solutions, labs) == ["gone.ipynb"] and not (labs / "gone.ipynb").exists()


def test_committed_labs_are_up_to_date():
    stale = build.build(check=True)
    assert stale == [], f"labs/ is out of date for {stale}: run 'make labs'"
