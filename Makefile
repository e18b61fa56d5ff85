# matdisco: two commands on a fresh machine.
#   make pipeline   install everything, fetch the embedded raw data, run `dvc repro`
#   make test       install everything, run the default (not slow) tests
#   make report     write results/report/index.html from the committed metrics, plots and tables
# Both are idempotent: a second run with nothing changed installs nothing and recomputes nothing.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.matdisco-installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Stage commands run `python`, `matdisco` and `dvc` from the venv.
export PATH := $(abspath $(VENV))/bin:$(PATH)
export WANDB_MODE ?= offline
export MPLBACKEND := Agg

.PHONY: setup check-venv qe browser lock lint format pre-commit pipeline pipeline-full test test-slow test-slurm bench report clean-venv

setup: check-venv $(STAMP)

# A venv copied or moved from another folder runs that folder's code: its scripts' #! lines name the
# old path, and its editable install points back. Make it again here (pip's cache makes it quick).
check-venv:
	@if [ -x $(PY) ] && ! head -1 $(VENV)/bin/pip 2>/dev/null | grep -q "^#!$(abspath $(VENV))/bin/python"; then \
	  echo "$(VENV) was made in another folder ($$(head -1 $(VENV)/bin/pip 2>/dev/null | cut -c3-)): making it again here"; \
	  rm -rf $(VENV); \
	elif [ -f $(STAMP) ] && [ "$$($(PY) -c 'from matdisco.core.config import INSTALLED_ROOT; print(INSTALLED_ROOT)' 2>/dev/null)" != "$(CURDIR)" ]; then \
	  echo "matdisco in $(VENV) is installed from another folder: installing it from $(CURDIR)"; \
	  rm -f $(STAMP); \
	fi

# torch first and alone: it resolves to the CPU wheel on disk instead of a CUDA build (STACK.md).
$(STAMP): requirements/lock.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check torch==$$(grep -Po '^torch==\K.*' requirements/lock.txt)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements/lock.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

# Re-resolve the full pin list (transitive packages too) from the direct pins, in a throw-away venv.
LOCK_VENV := .lock-venv
lock:
	rm -rf $(LOCK_VENV) && python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q --disable-pip-version-check torch==$$(grep -Po '^torch==\K.*' requirements/direct.txt)
	$(LOCK_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/direct.txt
	{ sed -n '1,2p' requirements/lock.txt; $(LOCK_VENV)/bin/pip freeze | sed 's/^\(torch==[^+]*\)+cpu$$/\1/' | LC_ALL=C sort -f; } > requirements/lock.txt.tmp
	mv requirements/lock.txt.tmp requirements/lock.txt && rm -rf $(LOCK_VENV)

# Quantum ESPRESSO (pw.x, hp.x, pseudopotentials, reference outputs) from Debian, on OpenBLAS: Debian's
# serial OpenBLAS takes over libblas.so.3/liblapack.so.3 through the alternatives (same U/V to 1e-4 eV,
# about 20 % less CPU than the reference BLAS; every Hubbard record names the BLAS it ran on).
QE_PACKAGES := quantum-espresso libopenblas0-serial
qe:
	@if command -v pw.x >/dev/null && command -v hp.x >/dev/null && dpkg -s libopenblas0-serial >/dev/null 2>&1; then \
	  echo "Quantum ESPRESSO present: $$(command -v pw.x), BLAS $$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"; \
	else $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(QE_PACKAGES); fi

# Headless chromium from Debian for the report page's browser tests (tests/integration/test_report_browser.py).
# Measured: 2 min 21 s (apt lists present, machine busy; about 290 MB installed), nothing when present.
browser:
	@if command -v chromium >/dev/null; then echo "chromium present: $$(command -v chromium)"; \
	else $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; fi

# data/raw also goes into the local DVC cache: `dvc exp run` workspaces and `dvc push` read it there.
pipeline: setup qe
	matdisco data fetch
	dvc commit -q -f data.dvc
	dvc repro

# The full-fidelity run as a DVC experiment (the committed metrics stay those of `make pipeline`):
# every k-fold split of ionic_gnn gets the whole 5-member ensemble instead of one member; the stages
# that do not read it are reused. Compare with `dvc exp show` / `dvc metrics diff`; rerun after
# `dvc exp remove full-fidelity`.
pipeline-full: setup qe
	matdisco data fetch
	dvc commit -q -f data.dvc
	dvc exp run -n full-fidelity -S 'ionic_gnn.training.kfold_members=null'

# ruff (lint and format check) and yamllint (conf/, dvc.yaml, CI files), from a small venv of their own
# (requirements/lint.txt, seconds to make) so linting never needs the 2 GB project venv. CI runs it
# before the tests; `make format` rewrites the tree; `make pre-commit` installs the git hook (same tools).
LINT_VENV := .lint-venv
LINT_STAMP := $(LINT_VENV)/.installed
$(LINT_STAMP): requirements/lint.txt
	test -x $(LINT_VENV)/bin/python || python3 -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements/lint.txt
	touch $@

lint: $(LINT_STAMP)
	$(LINT_VENV)/bin/ruff check .
	$(LINT_VENV)/bin/ruff format --check .
	$(LINT_VENV)/bin/yamllint -c .yamllint.yaml --strict .

format: $(LINT_STAMP)
	$(LINT_VENV)/bin/ruff format .
	$(LINT_VENV)/bin/ruff check --fix .

pre-commit: $(LINT_STAMP)
	$(LINT_VENV)/bin/pre-commit install

test: setup qe browser
	pytest -m "not slow" -q

test-slow: setup qe browser
	pytest -m slow -q

# The slow tests that need a real SLURM (the campaign as an array against a local run; scancel, requeue
# and resubmission of real QE jobs): 10-20 min, against a cluster from scripts/slurm/up.sh (source its env.sh);
# -rP prints what they measured (local vs array wall time of the same tiny paths). Not in .ci/run: the
# scancel test depends on timing under load (it failed once here on a loaded machine, see up.sh KillWait).
test-slurm: setup qe
	pytest -m "slurm and slow" -q -rP

bench: setup qe
	matdisco bench --out bench/results.json

# The results page alone (the pipeline's last stage runs the same command).
report: setup
	matdisco report

clean-venv:
	rm -rf $(VENV)
