"""The teaching machinery: checks and grading, progress, steps and pacing, building and running notebooks."""

__all__ = [
    "build",
    "dashboard",
    "grading",
    "jupyterlab_settings",
    "notebook_outputs",
    "pacing",
    "progress",
    "solution_markers",
    "steps",
    "verdicts",
    "checks",
]
