"""workshop.lab_helpers.bars: a live progress bar that leaves one summary line, never a pile of bars."""

from __future__ import annotations

import re

import pytest
from jupyter_client.manager import start_new_kernel

from workshop.lab_helpers.bars import bar

LOOP = "import time\nfrom workshop.lab_helpers.bars import bar\nfor _ in bar(range(12), 'uploading', unit='file'):\n    time.sleep(0.03)"


def test_in_a_terminal_the_bar_is_cleared_and_one_line_stays(capsys):
    assert list(bar(range(5), "uploading", unit="file")) == [0, 1, 2, 3, 4]
    out, err = capsys.readouterr()
    assert re.fullmatch(r"uploading: 5 files in \d+\.\d s\n", out), out
    assert "uploading" in err, "the bar was drawn"
    assert err.rsplit("\r", 2)[-2].strip() == "", f"and cleared at the end: {err!r}"


def test_a_loop_stopped_early_says_how_far_it_got(capsys):
    for number in bar(["a", "b", "c"], "sending", unit="message"):
        if number == "b":
            break
    assert re.fullmatch(r"sending: 1 of 3 messages, stopped, in \d+\.\d s\n", capsys.readouterr().out)


@pytest.mark.timeout(120)
def test_in_a_kernel_the_bar_redraws_one_output_and_empties_it():
    """What JupyterLab renders (every update) and what a stored notebook keeps (the display as
    last updated, or as first shown for nbval, which ignores updates): both empty, plus one line."""
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        msg_id = client.execute(LOOP)
        messages = []
        while True:
            msg = client.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            if msg["msg_type"] not in ("status", "execute_input"):
                messages.append((msg["msg_type"], msg["content"]))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    kinds = [kind for kind, _ in messages]
    assert "error" not in kinds, messages
    assert not any(kind == "stream" and content["name"] == "stderr" for kind, content in messages), messages
    displays = [content for kind, content in messages if kind in ("display_data", "update_display_data")]
    assert kinds[0] == "display_data" and displays[0]["data"] == {"text/plain": ""}, "shown empty"
    ids = {content["transient"]["display_id"] for content in displays}
    assert len(ids) == 1, "every redraw goes to the same output"
    drawn = [content["data"]["text/plain"] for content in displays[1:-1]]
    assert drawn and all(text.startswith("uploading: ") and "%|" in text for text in drawn), drawn
    assert displays[-1]["data"] == {"text/plain": ""}, "emptied at the end"
    lines = [content["text"] for kind, content in messages if kind == "stream"]
    assert len(lines) == 1 and re.fullmatch(r"uploading: 12 files in \d+\.\d s\n", lines[0]), lines
