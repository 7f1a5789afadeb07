# The two commands of the README: `make run` and `make test`. Both are idempotent and do
# every set-up step themselves on a machine with Python >= 3.11 and Node.js >= 18.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
XIETONG := $(VENV)/bin/xietong
export XIETONG_CHROMIUM ?= /usr/bin/chromium
CHROMIUM := $(XIETONG_CHROMIUM)
export XIETONG_DATA_DIR ?= $(CURDIR)/var

.PHONY: run test lint types pytest assets deps dev-deps browser bench clean

run: deps assets  ## Serve the platform on the embedded default (SQLite, demo data).
	@$(XIETONG) migrate --no-input -v 0
	@$(XIETONG) demo --quiet
	@$(XIETONG) welcome
	@$(XIETONG) serve

test: dev-deps assets browser lint types pytest  ## Lint, types and the whole test suite.

lint: dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: dev-deps
	$(VENV)/bin/mypy xietong

pytest: dev-deps assets
	XIETONG_DATA_DIR=$$(mktemp -d) $(XIETONG) makemigrations --check --dry-run -v 0
	$(VENV)/bin/pytest $(PYTEST_ARGS)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Stamps make re-runs free: pip runs again only when pyproject.toml changes.
$(VENV)/.deps: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	@touch $@
$(VENV)/.dev-deps: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[postgres,redis,dev]"
	@touch $@ $(VENV)/.deps

deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps

frontend/node_modules/.stamp: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

xietong/static/dist/.stamp: frontend/node_modules/.stamp frontend/build.mjs $(wildcard frontend/src/*)
	cd frontend && node build.mjs
	@touch $@

assets: xietong/static/dist/.stamp

# Browser tests drive Debian's Chromium, in Chinese (its zh-CN locale formats date pickers as
# a Chinese user sees them); install it when it is missing.
CHROMIUM_PACKAGES = chromium chromium-l10n fonts-noto-cjk
# TrueType CJK faces the 公文 PDF layout embeds (宋/楷/黑) when no licensed fonts are installed.
CJK_FONT_PACKAGES = fonts-arphic-uming fonts-arphic-ukai fonts-wqy-zenhei
browser:
	@if [ ! -x "$(CHROMIUM)" ] || { [ "$(CHROMIUM)" = /usr/bin/chromium ] && [ ! -e /usr/lib/chromium/locales/zh-CN.pak ]; }; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CHROMIUM_PACKAGES) >/dev/null; \
	  else echo "缺少 Chromium：请执行 sudo apt-get install $(CHROMIUM_PACKAGES)（或设置 CHROMIUM=路径）"; exit 1; fi; \
	fi
	@missing=""; for p in $(CJK_FONT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "缺少公文排版字体：请执行 sudo apt-get install$$missing"; exit 1; fi; \
	fi

bench: dev-deps assets  ## Baseline benchmark (see bench/README.md).
	$(PY) bench/baseline.py

clean:
	rm -rf $(VENV) frontend/node_modules xietong/static/dist .mypy_cache .ruff_cache .pytest_cache
