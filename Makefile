# lossviz: every target creates .venv when it is missing and installs with constraints.txt.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JUPYTER_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
START ?= en/00_start_here.ipynb
PORT ?= 8888
WORKERS ?= 2

.PHONY: setup lab test execute html bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[notebooks,test]'
	@touch $(STAMP)

setup: $(STAMP)

# JupyterLab on 127.0.0.1 with a fresh random token (or LOSSVIZ_TOKEN), opening the start notebook.
lab: $(STAMP)
	@token=$${LOSSVIZ_TOKEN:-$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(24))')}; \
	echo "lossviz: open http://127.0.0.1:$(PORT)/lab/tree/$(START)?token=$$token"; \
	exec $(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --no-browser $(JUPYTER_ROOT) \
	  --ServerApp.root_dir=notebooks --ServerApp.default_url=/lab/tree/$(START) --IdentityProvider.token=$$token

# Every test: unit, property, widgets, twins, every notebook through strict nbval, the browser test;
# then the notebooks once more with torch held to its plain (non-AVX) CPU kernels: a stored number
# that changes there would change on a student's different CPU too.
test: $(STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --nbval --nbval-current-env -p no:cacheprovider tests notebooks
	ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41 $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --nbval --nbval-current-env -p no:cacheprovider -q notebooks

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
