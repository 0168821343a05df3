# voiced — two commands do everything on a fresh Debian / Raspberry Pi OS machine:
#   make run    set up whatever is missing, then listen and answer
#   make test   the same set-up, then lint, types and every test
# Re-runs are quick: the venv is rebuilt only when pyproject.toml changes, and the
# llama-cpp-python wheel (compiled once, ~6 min on 2 cores) is kept in a cache.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CACHE := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/voiced
LLAMA_VERSION := 0.3.36
# How llama.cpp is compiled here (scripts/llama_cmake_args.sh: never AMX, which crashes
# on the virtual Xeons seen here); the wheel is kept per set of options.
LLAMA_ARGS := $(shell scripts/llama_cmake_args.sh)
LLAMA_KEY := $(shell echo "$(LLAMA_VERSION) $(LLAMA_ARGS)" | sha256sum | cut -c1-12)
WHEELS := $(CACHE)/wheels/$(LLAMA_KEY)
STAMP := $(VENV)/.installed-$(LLAMA_KEY)

.PHONY: install install-service run test home-assistant bench dialogue memory-check soak lint unit system-deps system-deps-test models models-all clean

install: system-deps $(STAMP) models

run: install
	$(VENV)/bin/voiced run

test: system-deps-test $(STAMP) models-all home-assistant lint
	$(VENV)/bin/pytest -q

# a real Home Assistant for the tests, in its own Python 3.13 environment (kept in the cache)
home-assistant:
	@scripts/home_assistant_env.sh $(CACHE) >/dev/null

# The systemd unit: a user unit by default; `sudo make install-service SYSTEM=1` for the
# system unit on a headless ALSA box; `make install-service WYOMING=1` for the Wyoming server.
install-service: install
	scripts/install_service.sh $(if $(SYSTEM),--system,$(if $(WYOMING),--wyoming))

bench: install models-all
	$(VENV)/bin/voiced bench --out bench-out

# what each language model tier says, typed and spoken (both models are fetched)
dialogue: install models-all
	$(VENV)/bin/voiced dialogue --spoken --out bench-out

# does it get to know you: things said in passing, asked after a restart (the default model)
memory-check: install
	$(VENV)/bin/voiced memory check --out bench-out

soak: install
	$(VENV)/bin/voiced soak --out soak-out

unit: $(STAMP)
	$(VENV)/bin/pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check voiced tests scripts
	$(VENV)/bin/ruff format --check voiced tests scripts
	$(VENV)/bin/mypy voiced
	$(VENV)/bin/lint-imports --no-cache

system-deps:
	@scripts/system_deps.sh runtime

system-deps-test:
	@scripts/system_deps.sh test

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@mkdir -p $(WHEELS)
	@ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || { \
		echo "building llama-cpp-python $(LLAMA_VERSION) once (about 6 minutes on 2 cores); the wheel is kept in $(WHEELS)"; \
		CMAKE_ARGS="$(LLAMA_ARGS)" $(PY) -m pip wheel --quiet --no-cache-dir --no-deps \
			-w $(WHEELS) "llama-cpp-python==$(LLAMA_VERSION)"; }
	$(PY) -m pip install --quiet --find-links $(WHEELS) -e '.[dev]'
	@# a venv made with another build of llama.cpp gets this one
	@$(PY) -m pip install --quiet --no-deps --force-reinstall $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	@rm -f $(VENV)/.installed*
	@touch $(STAMP)

# `make models` fetches what the configuration uses; `make models MODEL=small` a named one
# (models/manifest.toml); `make models MODEL=--all` every one (the tests use both LLMs).
models: $(STAMP)
	@$(PY) scripts/fetch_models.py $(MODEL)

models-all: $(STAMP)
	@$(PY) scripts/fetch_models.py --all

clean:
	rm -rf $(VENV) build *.egg-info
