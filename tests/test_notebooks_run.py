"""Every walkthrough notebook runs top to bottom on a fresh participant environment, twice."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from workshop import environment

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_without_error_and_reruns(path, in_process_backend, backend, prefix, monkeypatch):
    monkeypatch.setenv("WORKSHOP_PREFIX", prefix)
    environment.provision(backend, backend.names(prefix))
    for _ in range(2):  # a learner running everything again must not break anything
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors
