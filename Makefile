# Two commands set up a fresh machine: `make dev` and `make test`.
# Each installs what it needs (uv from PyPI, Debian's chromium via apt-get) and is quick when it already has it.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
CHROMIUM ?= /usr/bin/chromium
PYTEST_ARGS ?=

.PHONY: dev test test-fast lint typecheck bench screenshots bootstrap uv chromium sync wajs wajs-upgrade clean

uv:
	@command -v uv >/dev/null 2>&1 || test -x $(HOME)/.local/bin/uv || python3 -m pip install --quiet --user uv

# Workers and the portal tests drive Debian's full Chromium (new headless mode: the old
# headless shell says "HeadlessChrome" in its client hints, which WhatsApp Web refuses).
chromium:
	@test -x $(CHROMIUM) || { \
	  echo "installing Debian chromium (needs root)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  (apt-get update -qq && apt-get install -y -qq chromium fonts-liberation >/dev/null) \
	  || { echo "could not install chromium: run 'apt-get install chromium' as root" >&2; exit 1; }; }

sync: uv
	@$(UV) sync --quiet --extra worker --frozen

# The wa-js bundle the worker injects into WhatsApp Web, and @wppconnect/wa-version's pages of
# WhatsApp Web versions an operator can pin, at the versions package-lock.json pins.
WAJS := node_modules/@wppconnect/wa-js/dist/wppconnect-wa.js
$(WAJS): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm (Node 20) is needed for the wa-js bundle" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

wajs: $(WAJS)

# Bump the pinned wa-js: what changed in the declarations the worker uses, then the contract
# tests against the new bundle (the lockfile change is left for review).
wajs-upgrade: bootstrap
	@test -n "$(V)" || { echo "usage: make wajs-upgrade V=x.y.z" >&2; exit 2; }
	$(UV) run --frozen python -m devstack.wajs_upgrade $(V)

bootstrap: sync chromium wajs

dev: bootstrap
	$(UV) run --frozen wafleet dev

lint: sync
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

typecheck: sync
	$(UV) run --frozen mypy

# pytest exits 5 when it collected no tests; that is a failure here, like any other non-zero exit.
# Four workers (pytest-xdist) on two cores: the process tests mostly wait on real processes,
# and every test is independent (its own tables, ports, processes). Tests sharing one costly
# module or session fixture (the synthesized template, the portal's make dev) are one xdist
# group, run on one worker, so it is built once. The 25 slowest are listed.
test: bootstrap lint
	$(UV) run --frozen pytest -n 4 --dist loadgroup --durations=25 $(PYTEST_ARGS)

# Unit, integration, infra and contract tests: no worker host, no make dev (about a minute).
test-fast: bootstrap
	$(UV) run --frozen pytest -n 2 --dist loadgroup -m "not process" --durations=10 $(PYTEST_ARGS)

# Re-take the README's screenshots (docs/screenshots) with the portal's browser test.
screenshots: bootstrap
	WAFLEET_UPDATE_SCREENSHOTS=1 $(UV) run --frozen pytest tests/e2e/test_portal.py tests/e2e/test_webhooks.py

bench: bootstrap
	@set -e; for b in bench/*.py; do echo "== $$b"; $(UV) run --frozen python $$b; done

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache .hypothesis node_modules
