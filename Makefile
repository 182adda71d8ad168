# lossviz: every target creates $(VENV) when it is missing and installs with constraints.txt.
# Python: PYTHON=... when given, else the first of python3.11, python3.12, python3.13 that runs.
PYTHON ?=
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# PyTorch's CPU wheels: Linux gets the ~190 MB CPU build of torch, not PyPI's ~2.7 GB CUDA one.
TORCH_INDEX := https://download.pytorch.org/whl/cpu
START ?= en/00_start_here.ipynb
PORT ?= 8888
WORKERS ?= 2

.PHONY: setup lab test execute html bench clean

# torch alone first, the only package looked up on PyTorch's index (each lookup there costs a
# request; where that index cannot be reached pip retries, then takes the pin from elsewhere).
# pip shows its progress: the first install downloads a few hundred MB.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || sh tools/make_venv.sh $(VENV) $(PYTHON)
	$(BIN)/python -m pip install --extra-index-url $(TORCH_INDEX) --no-deps -c constraints.txt torch
	$(BIN)/python -m pip install -c constraints.txt -e '.[notebooks,test]'
	@touch $(STAMP)

setup: $(STAMP)

# JupyterLab on 127.0.0.1 with a fresh random token (or LOSSVIZ_TOKEN), opening the start notebook;
# the URL is printed once the server answers (tools/lab.py).
lab: $(STAMP)
	@$(BIN)/python tools/lab.py --port $(PORT) --start $(START)

# Every test: unit, property, widgets, twins, every notebook through strict nbval, the browser test;
# then the notebooks once more with torch held to its plain (non-AVX) CPU kernels: a stored number
# that changes there would change on a student's different CPU too; then the installation paths
# (wheel, Colab-like, JupyterHub, make lab), each in a virtual environment of its own (marker venv).
test: $(STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --nbval --nbval-current-env -p no:cacheprovider -m "not venv" tests notebooks
	ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41 $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --nbval --nbval-current-env -p no:cacheprovider -q notebooks
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile -p no:cacheprovider -m venv --durations=0 tests

# Re-executes every notebook in place, storing outputs and widget state.
execute: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py notebooks

# Static site in site/: every executed notebook in both languages, widget figures as PNG.
html: $(STAMP)
	$(BIN)/python tools/build_site.py notebooks site

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) site test-output
