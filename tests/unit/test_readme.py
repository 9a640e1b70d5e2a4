"""The README's commands are the ones CI and the tests use."""

import re

from workshop.core.paths import PROJECT_ROOT as ROOT

README = (ROOT / "README.md").read_text()


def _first_code_block() -> str:
    return re.search(r"```bash\n(.*?)```", README, re.DOTALL).group(1)


def test_readme_opens_with_the_two_commands():
    block = _first_code_block()
    assert block.splitlines()[0].startswith("make lab")
    assert block.splitlines()[1].startswith("make test")
    assert README.index("make lab") < README.index("Managing your own Python")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_make_test_runs_ruff_then_pytest_and_make_lab_the_kit():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(
        r"^test: \$\(DEV_STAMP\)\n\t\$\(PY\) -m ruff check \.\n\t\$\(PY\) -m ruff format --check \.\n"
        r"\t\$\(COMPILE\) workshop tests setup_env.py teardown_env.py\n\t\$\(PY\) -m pytest",
        makefile,
        re.MULTILINE,
    )
    # the bench measures an emulator that reads the kit compiled, as a learner's does after its first start
    assert re.search(r"^bench: \$\(DEV_STAMP\)\n\t\$\(COMPILE\) workshop bench\n", makefile, re.MULTILINE)
    assert re.search(r"^lab: \$\(STAMP\)\n\t\$\(PY\) -m workshop lab", makefile, re.MULTILINE)
    # The learner's packages alone for `make lab`; the test tools on top, again when either file changes.
    assert "$(STAMP): requirements.txt" in makefile
    assert "$(DEV_STAMP): $(STAMP) requirements-dev.txt" in makefile
    # the suite's processes read compiled modules, whether or not their environment lets them write any
    assert "COMPILE := $(PY) -m compileall" in makefile
    assert "\t$(COMPILE) $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])')" in makefile
    assert "-r requirements-dev.txt" in makefile


def test_manual_commands_name_files_that_exist():
    for command in (
        "pip install --no-compile -r requirements.txt",
        "python setup_env.py",
        "jupyter lab",
        "python teardown_env.py",
        "python -m workshop status",
        "pip install -r requirements-dev.txt",
    ):
        assert command in README, command
    for path in ("requirements.txt", "requirements-dev.txt", "setup_env.py", "teardown_env.py"):
        assert (ROOT / path).exists()
