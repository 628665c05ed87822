# The README's two commands: `make demo` and `make test`. Both set up the two environments
# on first use (a stamp per environment records what was installed; a second run reuses it).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
XVENV := .venv-experts
DATA := data/spatial_synth
# Local wheel mirrors make pip print a warning per package they lack; keep the log readable.
QUIET_PIP = { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: help setup demo test clean-venvs

help:
	@echo "make demo   - install, generate spatial_synth, serve experts on local Triton, evolve skills, evaluate baselines and skills, print the leaderboard"
	@echo "make test   - install, then run the test suite"

$(VENV)/.stamp: pyproject.toml experts_triton/pyproject.toml constraints/evaluator.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: an unpinned resolve would pull a multi-GB download.
	$(VENV)/bin/pip install -q torch==2.14.1 torchvision==0.29.1 2>&1 | $(QUIET_PIP)
	# The verified versions of everything else (constraints/): a newer release on the registry cannot break setup.
	$(VENV)/bin/pip install -q -c constraints/evaluator.txt -e ./experts_triton -e ".[dev,train]" 2>&1 | $(QUIET_PIP)
	$(VENV)/bin/python -c "import torch, lmms_eval, trl, skill3d_eval, skill3d_experts"
	# `lmms-eval tasks list` imports no plugin: a .pth puts our tasks/ on its search path (skill3d_eval/lmms/task_search_path.py).
	$(VENV)/bin/python -m skill3d_eval.lmms.task_search_path
	touch $@

$(XVENV)/.stamp: experts_triton/pyproject.toml constraints/experts.txt
	test -x $(XVENV)/bin/python || $(PYTHON) -m venv $(XVENV)
	# The bundled Triton Python-backend stub needs numpy 1.26.x; torch 2.13.0 is the local CPU wheel.
	$(XVENV)/bin/pip install -q torch==2.13.0 "numpy>=1.26,<2" 2>&1 | $(QUIET_PIP)
	$(XVENV)/bin/pip install -q -c constraints/experts.txt -e "./experts_triton[serve]" 2>&1 | $(QUIET_PIP)
	$(XVENV)/bin/python -c "import numpy, pytriton, transformers, onnxruntime, skill3d_experts; assert numpy.__version__.startswith('1.26')"
	touch $@

setup: $(VENV)/.stamp $(XVENV)/.stamp

# Regenerated when the generator's code changes (same seed, same scenes: the oracle store stays valid).
$(DATA)/meta.json: $(wildcard skill3d_eval/synth/*.py) | $(VENV)/.stamp
	$(VENV)/bin/skill3d-eval synth generate --out $(DATA)

demo: setup $(DATA)/meta.json
	$(VENV)/bin/skill3d-eval demo --data $(DATA) --output-dir runs/demo

test: setup
	$(VENV)/bin/python -m pytest -q

clean-venvs:
	rm -rf $(VENV) $(XVENV)
