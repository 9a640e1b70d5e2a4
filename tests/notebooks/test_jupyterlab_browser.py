"""JupyterLab in a real browser: what a learner sees after `make lab` and Run All Cells.

``python -m workshop lab`` (what ``make lab`` runs) starts a private emulator, sets up a fresh
participant and starts JupyterLab on a copy of the capstone solution; headless Chromium (the
system's, driven by Playwright) opens it, runs every cell from the Run menu and checks the page:
no error output, the mermaid diagram rendered as SVG (the architecture in Markdown, one file's
journey as a cell's output), the plot shown as an image, the lab's
score, and no "get notified about official Jupyter news?" prompt over the notebook (the kit's
settings turn it off: workshop/teaching/jupyterlab_settings.py). Screenshots are kept in the test's tmp
folder, and copied to $LAB_SCREENSHOT_DIR when set (a stable place, for CI artifacts).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, local_environment
from workshop.core import launcher
from workshop.core.launcher import free_port
from workshop.teaching import grading

CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = "solutions/09_capstone.ipynb"  # a mermaid diagram, a plot, checks and a score
RUN_ALL_TIMEOUT_S = 400
# The capstone's longest cell waits at most 60 s for its files: a page unchanged for twice that is stuck
STUCK_AFTER_S = 120
NEWS_PROMPT = "Would you like to get notified about official Jupyter news?"
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook's tab on show
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"  # stderr, tracebacks

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no system Chromium at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)",
    ),
]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def without_outputs(notebook: dict) -> dict:
    """The notebook as a learner's first run sees it: every output on the page comes from this run."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return notebook


@pytest.fixture
def lab(tmp_path):
    """`python -m workshop lab` on free ports, a private emulator and state, a fresh participant,
    JupyterLab serving a temp folder with a copy of the notebook; everything stopped afterwards."""
    root = tmp_path / "lab"
    (root / Path(NOTEBOOK).parent).mkdir(parents=True)
    original = (ROOT / NOTEBOOK).read_bytes()
    (root / NOTEBOOK).write_text(json.dumps(without_outputs(json.loads(original)), indent=1))
    emulator_port, lab_port, token = free_port(), free_port(), secrets.token_hex(16)
    env = local_environment(emulator_port, tmp_path / "state")
    env.update(
        WORKSHOP_PREFIX=f"browser{os.getpid() % 10000}",
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    log_path = tmp_path / "lab.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workshop",
            "lab",
            "--no-browser",
            f"--port={lab_port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{lab_port}"
    try:
        deadline = time.monotonic() + 240  # emulator start, setup_env.py, JupyterLab start
        while not _answers(f"{base}/api/status?token={token}"):
            assert process.poll() is None, f"`python -m workshop lab` exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"JupyterLab did not answer within 240 s:\n{log_path.read_text()}"
            time.sleep(0.5)
        assert launcher.probe(f"http://127.0.0.1:{emulator_port}"), "the lab's private emulator is running"
        yield {"base": base, "token": token, "root": root, "env": env, "log": log_path, "original": original}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the launcher stops JupyterLab (and its kernels) with it
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        subprocess.run([sys.executable, "-m", "workshop", "stop"], cwd=ROOT, env=env, timeout=60, capture_output=True)
        log.close()
        for _ in range(40):
            if not launcher.probe(f"http://127.0.0.1:{emulator_port}", timeout=0.5):
                break
            time.sleep(0.25)
        else:
            raise AssertionError("the lab's emulator still answers after `python -m workshop stop`")


def test_run_all_cells_in_chromium_shows_diagram_plot_and_score_without_errors(lab, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.set_default_timeout(60_000)
            page.goto(f"{lab['base']}/lab/tree/{NOTEBOOK}?token={lab['token']}")
            notebook = page.locator(f"{PANEL} .jp-Notebook")
            notebook.wait_for(timeout=120_000)
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=120_000)

            # The architecture diagram: the ```mermaid fence rendered (JupyterLab draws it as an SVG image).
            mermaid = notebook.locator(".jp-RenderedMermaid img[src^='data:image/svg+xml']").first
            mermaid.wait_for(state="visible", timeout=60_000)
            assert mermaid.bounding_box()["height"] > 100, "a diagram of some size"
            svg = mermaid.evaluate("img => decodeURIComponent(img.getAttribute('src'))")
            assert 'aria-roledescription="flowchart' in svg and "Syntax error" not in svg, svg[:2000]
            assert "cap-incoming" in svg, "the diagram's own nodes are drawn"
            page.screenshot(path=tmp_path / "lab-opened.png")
            # JupyterLab asks once the page is restored, before the notebook shows; nothing asked.
            assert page.get_by_text(NEWS_PROMPT).count() == 0, "JupyterLab's news prompt covers the notebook"

            # JupyterLab adds a long notebook's cells to the page in chunks, after it shows: counted on
            # the page too early, a run that had ended looked unfinished (cells the count missed).
            code_cells = sum(cell["cell_type"] == "code" for cell in json.loads(lab["original"])["cells"])
            expect(notebook.locator(".jp-CodeCell")).to_have_count(code_cells, timeout=60_000)
            assert notebook.locator(".jp-OutputArea-output").count() == 0, "nothing ran yet"
            page.locator(".lm-MenuBar-item", has_text="Run").first.click()
            page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
            _wait_until_run_all_ends(page, code_cells, lab)
            errors = notebook.locator(ERROR_OUTPUT)
            assert errors.count() == 0, "\n---\n".join(errors.all_inner_texts())
            numbers = [
                int(text.strip("[]: "))
                for text in notebook.locator(".jp-CodeCell .jp-InputArea-prompt").all_text_contents()
            ]
            assert sorted(numbers) == list(range(1, code_cells + 1)), f"every cell ran once, in order: {numbers}"
            outputs = "\n".join(notebook.locator(".jp-OutputArea-output").all_inner_texts())
            assert "Traceback" not in outputs, outputs
            score = re.search(r"Lab 9 score: (\d+) of (\d+) correct", outputs)
            assert score and score[1] == score[2] == str(
                len(grading.exercises("9") + grading.questions("9", asked_in=NOTEBOOK))
            ), outputs
            assert page.get_by_text(NEWS_PROMPT).count() == 0, "JupyterLab's news prompt appeared during the run"

            # The journey of one file: a cell's output drawn by JupyterLab's mermaid renderer.
            journey = notebook.locator(".jp-OutputArea-output .jp-RenderedMermaid img[src^='data:image/svg+xml']").first
            journey.scroll_into_view_if_needed()
            journey.wait_for(state="visible", timeout=60_000)
            drawn = journey.evaluate("img => decodeURIComponent(img.getAttribute('src'))")
            assert 'aria-roledescription="sequence' in drawn and "Syntax error" not in drawn, drawn[:2000]
            assert "cap-records" in drawn and "cap-output" in drawn, "the file's path is drawn"
            assert drawn.count('class="sequenceNumber"') >= 12, "every step of the journey, numbered"
            assert journey.bounding_box()["height"] > 300, "drawn at a size to read, not shrunk to the page's width"
            page.screenshot(path=tmp_path / "lab-journey.png")

            plot = notebook.locator(".jp-OutputArea-output img[src^='data:image/png']").first
            plot.scroll_into_view_if_needed()
            plot.wait_for(state="visible")
            width, height = plot.evaluate("img => [img.naturalWidth, img.naturalHeight]")
            assert width > 200 and height > 100, (width, height)
            page.screenshot(path=tmp_path / "lab-plot.png")
            if os.environ.get("LAB_SCREENSHOT_DIR"):
                keep = Path(os.environ["LAB_SCREENSHOT_DIR"])
                keep.mkdir(parents=True, exist_ok=True)
                for shot in ("lab-opened.png", "lab-journey.png", "lab-plot.png"):
                    shutil.copy(tmp_path / shot, keep / shot)
        except Exception:
            page.screenshot(path=tmp_path / "failure.png")  # what the page showed, for the failure report
            (tmp_path / "failure.html").write_text(page.content())
            print(f"failure: {tmp_path / 'failure.png'} {tmp_path / 'failure.html'}")
            raise
        finally:
            browser.close()

    # The run was the copy's: the repository's notebook is untouched.
    assert (ROOT / NOTEBOOK).read_bytes() == lab["original"]


# What the page shows of the run: the kernel's status, each code cell's prompt and the start of its
# output, and any dialog JupyterLab opened over the notebook.
_RUN_STATE_JS = """([panelSelector, errorSelector]) => {
    const panel = document.querySelector(panelSelector);
    const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator')
        || document.querySelector('.jp-Notebook-ExecutionIndicator');
    const cells = [...panel.querySelectorAll('.jp-CodeCell')].map(cell => ({
        prompt: (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
        output: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join(' | ').slice(0, 300),
        failed: !!cell.querySelector(errorSelector),
    }));
    const dialog = document.querySelector('.jp-Dialog');
    const statusbar = document.querySelector('#jp-main-statusbar');
    return {
        status: indicator ? indicator.dataset.status : null,
        statusbar: statusbar ? statusbar.innerText.replace(/\\s+/g, ' ') : null,
        dialog: dialog ? dialog.innerText : null,
        cells,
    };
}"""


def _wait_until_run_all_ends(page, code_cells: int, lab: dict) -> None:
    """Done when the kernel is idle with every cell numbered, or with an error shown (Run All stops
    at a failing cell): the test's assertions then say which. A run that stops moving, or outlasts
    its time, fails with what the page showed, cell by cell, and the ends of the lab's logs."""
    started = changed = time.monotonic()
    last = None
    while True:
        state = page.evaluate(_RUN_STATE_JS, [PANEL, ERROR_OUTPUT])
        prompts = [cell["prompt"] for cell in state["cells"]]
        running = any("*" in prompt for prompt in prompts)
        numbered = len(prompts) == code_cells and all(re.search(r"\[\d+\]", prompt) for prompt in prompts)
        failed = any(cell["failed"] for cell in state["cells"])
        if state["status"] == "idle" and not running and (numbered or failed):
            return
        now = time.monotonic()
        shown = (state["status"], state["dialog"], state["cells"])  # the status bar's text aside
        if shown != last:
            last, changed = shown, now
        if now - changed > STUCK_AFTER_S or now - started > RUN_ALL_TIMEOUT_S:
            why = "the page stopped changing" if now - changed > STUCK_AFTER_S else "Run All did not end in time"
            raise AssertionError(
                f"{why}: {now - started:.0f} s after Run All Cells, unchanged for the last {now - changed:.0f} s\n"
                + _describe(state, code_cells)
                + _tails(lab)
            )
        time.sleep(1)


def _describe(state: dict, code_cells: int) -> str:
    lines = [
        f"execution indicator: {state['status']}; status bar: {state['statusbar']}; dialog: {state['dialog']}",
        f"{len(state['cells'])} code cells on the page, of the notebook's {code_cells}:",
    ]
    for number, cell in enumerate(state["cells"], 1):
        lines.append(f"  code cell {number}: {cell['prompt'].strip() or '(no prompt)'} {cell['output'][:200]!r}")
    return "\n".join(lines) + "\n"


def _tails(lab: dict, lines: int = 40) -> str:
    """The last lines of JupyterLab's log (kernels started, restarted, died) and the emulator's."""
    logs = [lab["log"], *sorted(Path(lab["env"]["WORKSHOP_STATE_DIR"]).glob("emulator*.log"))]
    shown = []
    for log in logs:
        text = log.read_text(errors="replace").splitlines() if log.exists() else ["(no log)"]
        shown.append(f"--- the end of {log.name}:\n" + "\n".join(text[-lines:]))
    return "\n".join(shown)
