# Two commands for a newcomer: `make lab` and `make test`. Both build .venv from
# requirements.txt first (what a learner needs); `make test` and `make bench` add
# requirements-dev.txt (the kit's test and benchmark tools). Each is installed again
# whenever its file changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements-installed
DEV_STAMP := $(VENV)/.requirements-dev-installed

.PHONY: lab labs outputs test bench start stop status clean help

help:
	@echo "make lab    start the emulator, set up your environment, open JupyterLab"
	@echo "make test   run the whole test suite (what CI runs)"
	@echo "make labs   regenerate labs/ from solutions/"
	@echo "make outputs  re-run notebooks/ and solutions/ and store their outputs"
	@echo "make bench  measure the kit beside its bounds, write BENCHMARKS.md (BENCH_ARGS=--full: committed sizes)"
	@echo "make stop   stop the background emulator"
	@echo "make clean  remove .venv and local state"

# The stamp is older than requirements.txt when the pins changed: reinstall. --no-compile: Python
# compiles the modules a learner imports when first imported, not all of them up front (a third
# of the venv's size).
$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0] + ". Try: make PYTHON=python3.12 ...")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements.txt
	@touch $@

# The same for the test and benchmark tools, on top of the learner's packages (a newer
# learner's stamp means requirements.txt changed: this file is installed again with it).
# The suite starts hundreds of Python processes (kernels, emulators, scripts): the venv's
# modules and the kit's are compiled once, up front, so no process compiles what it imports
# from source, also where PYTHONDONTWRITEBYTECODE is set (a kernel's imports: 2.4 s of CPU
# from source, 0.7 s compiled; the venv compiles in about 12 s on two cores).
COMPILE := $(PY) -m compileall -q -j 0
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(COMPILE) $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
	@touch $@

lab: $(STAMP)
	$(PY) -m workshop lab $(LAB_ARGS)

test: $(DEV_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(COMPILE) workshop tests setup_env.py teardown_env.py
	$(PY) -m pytest $(PYTEST_ARGS)

labs: $(STAMP)
	$(PY) -m workshop labs

outputs: $(STAMP)
	$(PY) -m workshop outputs $(OUTPUTS_ARGS) $(NOTEBOOKS)

# Compiled as for `make test`: a learner's Python writes the kit's bytecode at its first import,
# so an emulator that compiled the kit from source at every start would measure a cost no
# learner pays after their first start (about 0.07 s of the emulator's start-up).
bench: $(DEV_STAMP)
	$(COMPILE) workshop bench
	$(PY) bench/emulator_bench.py $(BENCH_ARGS)

start: $(STAMP)
	$(PY) -m workshop start

stop: $(STAMP)
	$(PY) -m workshop stop

status: $(STAMP)
	$(PY) -m workshop status

clean:
	-$(PY) -m workshop stop 2>/dev/null
	rm -rf $(VENV) .workshop .pytest_cache
