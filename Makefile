# The kit's commands. `make lab` and `make test` are all a newcomer needs:
# each creates .venv and installs what it needs on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LAB_ARGS ?=
ROOT_FLAG := $(shell [ "$$(id -u)" = "0" ] && echo --allow-root)
# The hub test's proxy (tests/test_hub.py): configurable-http-proxy from npm, kept inside .venv.
CHP_VERSION := 5.3.0
CHP := $(VENV)/hub-proxy/node_modules/.bin/configurable-http-proxy

.PHONY: lab lite test test-fast lint outputs bench bench-lite serve clean help hub-figures

help:
	@echo "make lab      start JupyterLab on lesson 1 (LAB_ARGS='--port=9999 --no-browser' passes through)"
	@echo "make test     run every test, notebooks included (what CI runs); starts with make lint"
	@echo "make test-fast  make lint, then the tests that start no browser and no subprocess-heavy setup"
	@echo "make lint     ruff and mypy, configured in pyproject.toml"
	@echo "make outputs  re-run every notebook and save its outputs deterministically"
	@echo "make bench    run the benchmark and print the figures"
	@echo "make serve    run the embedded server in the foreground"
	@echo "make lite     build the lessons as a static JupyterLite site in build/lite/ (runs in the browser alone)"
	@echo "make bench-lite  the JupyterLite site's figures, side by side with make lab's"
	@echo "make hub-figures  measure the kit on a local JupyterHub (root): deploy/figures.json"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m tutorial_kit.notebook.jupyter_settings install $(VENV)
# an editable install compiles nothing: without this, a shell with PYTHONDONTWRITEBYTECODE set
# compiles the kit at every server start (`make bench`: "background start, kit not compiled")
	$(PY) -m compileall -q tutorial_kit
	@touch $(STAMP)

# JupyterLab's root is the repository (the file browser shows server-home/config/services.json);
# lesson 1 opens first. The venv's bin/ is on PATH, so JupyterLab's terminal has `tutorial-kit`.
lab: $(STAMP)
	@$(PY) -m tutorial_kit.notebook.jupyter_settings install $(VENV) >/dev/null
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir="$(CURDIR)" \
		notebooks/01-start-here.ipynb $(LAB_ARGS)

NBVAL := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg

lite: $(STAMP)
	$(PY) -m tutorial_kit.lite build

$(CHP): | $(STAMP)
	npm install --silent --no-audit --no-fund --prefix $(VENV)/hub-proxy configurable-http-proxy@$(CHP_VERSION)

lint: $(STAMP)
	$(PY) -m ruff check tutorial_kit tests
	$(PY) -m mypy

test: $(STAMP) $(CHP) lint
	$(PY) -m pytest tests
	$(PY) -m pytest $(NBVAL) notebooks

test-fast: $(STAMP) lint
	$(PY) -m pytest tests -m "not slow and not browser"

outputs: $(STAMP)
	$(PY) -m tutorial_kit.notebook.outputs notebooks

hub-figures: $(STAMP) $(CHP)
	$(PY) tests/hub_figures.py --out deploy/figures.json

bench: $(STAMP)
	$(PY) -m tutorial_kit.bench --json bench-results.json

bench-lite: $(STAMP)
	$(PY) -m tutorial_kit.lite.bench --json bench-lite.json

serve: $(STAMP)
	$(VENV)/bin/tutorial-kit serve

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build/lite .lite-cache
