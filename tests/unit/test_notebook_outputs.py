"""make outputs rewrites a notebook only when what nbval compares has changed."""

import nbformat

from workshop.teaching.notebook_outputs import compared


def _notebook(demo_text, plain_text, png):
    notebook = nbformat.v4.new_notebook()
    demo = nbformat.v4.new_code_cell("random_demo()", metadata={"tags": ["demo", "nbval-ignore-output"]})
    demo.outputs = [nbformat.v4.new_output("stream", name="stdout", text=demo_text)]
    plain = nbformat.v4.new_code_cell("print(total)")
    plain.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=plain_text),
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
    ]
    notebook.cells = [demo, plain]
    for n, cell in enumerate(notebook.cells):
        cell.id = f"c{n}"
    return nbformat.writes(notebook)


def test_ignored_outputs_images_and_masked_values_do_not_count():
    stored = _notebook("counted 1000\n", "learner: 42\n", "AAAA")
    assert compared(stored) == compared(_notebook("counted 800\n", "ci05s01: 42\n", "BBBB"))


def test_a_changed_compared_output_counts():
    assert compared(_notebook("x\n", "total 42\n", "AAAA")) != compared(_notebook("x\n", "total 43\n", "AAAA"))
