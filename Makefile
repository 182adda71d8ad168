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

# Every test: unit, property, widgets, twins, every notebook through strict nbval, the browser test.
test: $(STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --nbval --nbval-current-env -p no:cacheprovider tests notebooks

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
