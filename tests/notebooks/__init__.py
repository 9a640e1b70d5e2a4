"""Every notebook run top to bottom (nbval) and JupyterLab in a real browser."""
