"""Fail loudly, in one place, when moto changes under the emulator."""

import re
from pathlib import Path

import moto

from workshop.emulator import moto_internals


def test_installed_moto_is_the_pinned_one():
    assert moto_internals.version_mismatch() is None, moto_internals.version_mismatch()
    assert moto.__version__ == moto_internals.PINNED_MOTO_VERSION


def test_requirements_pin_the_same_moto():
    requirements = (Path(__file__).parents[1] / "requirements.txt").read_text()
    pinned = re.search(r"^moto(\[[^\]]*\])?==(\S+)$", requirements, re.MULTILINE)
    assert pinned and pinned.group(2) == moto_internals.PINNED_MOTO_VERSION


def test_the_internals_used_still_exist():
    app = moto_internals.moto_wsgi_app()
    assert callable(app)
    assert hasattr(moto_internals.REQUEST_HANDLER, "make_environ")
