"""The kit's JupyterLab defaults, installed into the environment JupyterLab runs from.

JupyterLab reads default settings from the overrides files of its application folder,
``<environment>/share/jupyter/lab/settings/overrides.d/*.json``: ``make lab`` and a plain
``jupyter lab`` started from the kit's environment both read them, and whatever a learner sets
in Settings still wins. The kit is installed editable, and an editable install carries no data
files, so the kit copies its file there itself: ``setup_env.py`` (which ``make lab`` runs before
starting JupyterLab) calls :func:`install`. It writes into a virtual or conda environment only,
never into the learner's home or a system-wide Python.

``jupyterlab_overrides.json`` turns off the "Would you like to get notified about official
Jupyter news?" prompt, which otherwise pops over the first notebook of every new learner.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SOURCE = Path(__file__).with_name("jupyterlab_overrides.json")
FILE_NAME = "workshop.json"


def target(
    prefix: str = sys.prefix, base_prefix: str = sys.base_prefix, environ: dict[str, str] | os._Environ = os.environ
) -> Path | None:
    """Where this environment's JupyterLab reads the kit's overrides, or None outside a
    virtual or conda environment."""
    in_venv = Path(prefix).resolve() != Path(base_prefix).resolve()
    in_conda = bool(environ.get("CONDA_PREFIX")) and Path(environ["CONDA_PREFIX"]).resolve() == Path(prefix).resolve()
    if not (in_venv or in_conda):
        return None
    app_dir = Path(environ.get("JUPYTERLAB_DIR") or Path(prefix) / "share" / "jupyter" / "lab")
    return app_dir / "settings" / "overrides.d" / FILE_NAME


def install(destination: Path | None = None) -> Path | None:
    """Copy the kit's overrides into place unless they are there already; return the path
    written, or None when nothing was (already there, no environment, or not writable)."""
    destination = destination or target()
    if destination is None:
        return None
    wanted = SOURCE.read_text(encoding="utf-8")
    try:
        if destination.exists() and destination.read_text(encoding="utf-8") == wanted:
            return None
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(wanted, encoding="utf-8")
    except OSError:
        return None  # a read-only environment: JupyterLab simply asks its question
    return destination
