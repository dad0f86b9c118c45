# stack-cfn: `make demo` builds the example stack and deploys it to a local AWS;
# `make test` runs the whole suite. Both create the virtualenv on first use.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.stack-cfn-installed
# The security gate's scanner, in a venv of its own: its pins never touch the compiler's.
CHECKOV_VENV ?= .venv-checkov
CHECKOV = $(CHECKOV_VENV)/bin/checkov
CONFIG ?= stack.yaml

.PHONY: install checkov templates golden build demo test unit lint typecheck bench validate-amis amis clean

install: $(STAMP)

# uv (from PyPI) installs the dependencies in about 10 s where pip takes a minute; when uv
# cannot be had, pip does the same job. Either way: `pip install -e '.[dev]'` into $(VENV).
$(STAMP): setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@if $(BIN)/pip install -q uv >/dev/null 2>&1 && $(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]' pip; then \
	  echo "installed with uv"; \
	else \
	  $(BIN)/pip install -q --upgrade pip && $(BIN)/pip install -q -e '.[dev]'; \
	fi
	$(BIN)/python -m compileall -q stack_cfn  # an editable install gets no bytecode, and PYTHONDONTWRITEBYTECODE may forbid writing it later
	touch $@

# Compile the example stack into build/ and regenerate the generic templates/.
templates: install
	$(BIN)/stack-cfn build -c $(CONFIG) -o build
	$(BIN)/stack-cfn templates -o templates
	$(BIN)/stack-cfn schema -o stack.schema.json
	$(BIN)/stack-cfn docs --reference docs

# The golden copy of the example stack's compiled templates (tests/golden/): review its diff.
golden: install
	$(BIN)/stack-cfn build -c stack.yaml -o tests/golden

build: templates

# The main job: build, lint, start a local AWS (moto), upload, deploy, print outputs; then how
# long it took, the venv's setup included (a fresh clone's target: 30 s).
demo:
	@start=$$(date +%s%N); \
	$(MAKE) --no-print-directory install && $(BIN)/stack-cfn up --local -c $(CONFIG); code=$$?; \
	ms=$$(( ($$(date +%s%N) - start) / 1000000 )); \
	echo "make demo: $$((ms / 1000)).$$((ms % 1000 / 100)) s, setup included"; exit $$code

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	@if $(CHECKOV_VENV)/bin/pip install -q uv >/dev/null 2>&1 && $(CHECKOV_VENV)/bin/uv pip install -q --python $(CHECKOV_VENV)/bin/python 'checkov>=3.2,<4'; then \
	  echo "installed checkov with uv"; \
	else \
	  $(CHECKOV_VENV)/bin/pip install -q --upgrade pip && $(CHECKOV_VENV)/bin/pip install -q 'checkov>=3.2,<4'; \
	fi

checkov: $(CHECKOV)

test: install $(CHECKOV) lint typecheck
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

unit: install
	$(BIN)/python -m pytest -q -m "not e2e" -n 2 --dist loadfile

# ruff, and vulture for dead code: what it reports is deleted, or listed in vulture_whitelist.py with the reason it is used.
lint: install
	$(BIN)/ruff check stack_cfn tests bench
	$(BIN)/vulture stack_cfn bench vulture_whitelist.py

# mypy as pyproject.toml configures it: every module, the model and the blueprints strictly.
typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench.bench

# The container-instance AMI (packer/). VAR_FILE=my-vars.json to override variables.
validate-amis:
	packer/validate.sh $(VAR_FILE)

amis: install
	AWS_CLI=$(BIN)/aws packer/build.sh $(VAR_FILE)

clean:
	rm -rf build .pytest_cache
