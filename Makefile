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
WHEELS := $(CACHE)/wheels
LLAMA_VERSION := 0.3.36
STAMP := $(VENV)/.installed

.PHONY: install install-service run test bench soak lint unit system-deps system-deps-test models clean

install: system-deps $(STAMP) models

run: install
	$(VENV)/bin/voiced run

test: system-deps-test $(STAMP) models lint
	$(VENV)/bin/pytest -q

# The systemd unit: a user unit by default; `sudo make install-service SYSTEM=1` for the
# system unit on a headless ALSA box; `make install-service WYOMING=1` for the Wyoming server.
install-service: install
	scripts/install_service.sh $(if $(SYSTEM),--system,$(if $(WYOMING),--wyoming))

bench: install
	$(VENV)/bin/voiced bench --out bench-out

soak: install
	$(VENV)/bin/voiced soak --out soak-out

unit: $(STAMP)
	$(VENV)/bin/pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check voiced tests scripts
	$(VENV)/bin/ruff format --check voiced tests scripts
	$(VENV)/bin/mypy voiced

system-deps:
	@scripts/system_deps.sh runtime

system-deps-test:
	@scripts/system_deps.sh test

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@mkdir -p $(WHEELS)
	@ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || { \
		echo "building llama-cpp-python $(LLAMA_VERSION) once (about 6 minutes on 2 cores); the wheel is kept in $(WHEELS)"; \
		$(PY) -m pip wheel --quiet --no-deps -w $(WHEELS) "llama-cpp-python==$(LLAMA_VERSION)"; }
	$(PY) -m pip install --quiet --find-links $(WHEELS) -e '.[dev]'
	@touch $(STAMP)

models: $(STAMP)
	@$(PY) scripts/fetch_models.py

clean:
	rm -rf $(VENV) build *.egg-info
