# KIM Portal – the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
E2E_DIR := tests/e2e
NPM_STAMP := $(E2E_DIR)/node_modules/.installed
MO_FILES := $(patsubst %.po,%.mo,$(wildcard portal/translations/*/LC_MESSAGES/messages.po))
# Every Python dependency, pinned with hashes (uv pip compile; `make lock` refreshes them).
LOCK := requirements-dev.txt
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock" --quiet

.PHONY: run test test-system test-latest lint format translations translations-update \
	system-deps install lock bench

run: install translations
	$(BIN)/portal init
	@$(BIN)/portal seed-demo
	$(BIN)/portal serve --host 127.0.0.1 --port 5000

# One worker per core (pytest-xdist; idle workers take over queued tests): each has its own
# SQLite template, PostgreSQL database and live server.
test: install translations system-deps
	$(BIN)/pytest -n auto --dist worksteal

# Slower system tests (a wheel built and installed into a fresh venv outside the checkout).
test-system: install translations system-deps
	$(BIN)/pytest -m system

# The suite on the newest releases that pyproject.toml's ranges allow, in a venv of its own:
# catches an upcoming incompatibility on purpose before `make lock` takes it in.
test-latest: system-deps
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet -e '.[test]'
	.venv-latest/bin/pytest -n auto --dist worksteal

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

install: $(STAMP)

# A new venv with exactly the locked versions (hashes checked; nothing left from an older
# lock), then the portal itself, editable, built by the locked hatchling (no build
# isolation: nothing unpinned is fetched).
$(STAMP): $(LOCK) pyproject.toml hatch_build.py
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# Re-resolve every dependency to the newest release the ranges allow: the development lock
# first, then the runtime lock (what a production install of the wheel takes) within it.
lock: install
	$(UV_COMPILE) --upgrade --extra test --extra dev -o requirements-dev.txt
	$(UV_COMPILE) -c requirements-dev.txt -o requirements.txt
	npm install --prefix $(E2E_DIR) --package-lock-only --no-audit --no-fund

translations: $(MO_FILES)

%.mo: %.po hatch_build.py
	$(BIN)/python hatch_build.py

# After changing user-facing strings: extract them and merge into the catalogs,
# then translate the new German entries in portal/translations/de/.
translations-update: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--omit-header -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations \
		--width 100 --no-fuzzy-matching

# Debian packages the tests need (Chromium for end-to-end tests, Tesseract for OCR, fonts for PDFs:
# Latin/Cyrillic from DejaVu, Arabic and Ethiopic (Tigrinya) from Noto; pdftoppm to look at pages),
# installed when missing and we are root; axe-core for the accessibility checks, from npm.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v tesseract >/dev/null 2>&1 || missing="$$missing tesseract-ocr tesseract-ocr-deu"; \
	fc-list 2>/dev/null | grep -q DejaVuSans || missing="$$missing fonts-dejavu-core"; \
	fc-list 2>/dev/null | grep -q NotoNaskhArabic || missing="$$missing fonts-noto-core"; \
	fc-list 2>/dev/null | grep -q NotoSansEthiopic || missing="$$missing fonts-noto-core"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	pg=$$(ls /etc/postgresql 2>/dev/null | head -n1); \
	[ -z "$$pg" ] || [ -e /usr/share/postgresql/$$pg/extension/rum.control ] \
		|| missing="$$missing postgresql-$$pg-rum"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else echo "missing Debian packages:$$missing (their tests will be skipped)"; fi; \
	fi
	@$(MAKE) --no-print-directory $(NPM_STAMP)

$(NPM_STAMP): $(E2E_DIR)/package-lock.json
	npm ci --prefix $(E2E_DIR) --no-audit --no-fund --silent
	touch $@

bench: install translations
	cd bench && ../$(BIN)/python dedup.py && for b in case_folder.py upload.py dashboard.py; do for db in sqlite postgresql; do ../$(BIN)/python $$b $$db; done; done && ../$(BIN)/python pdf.py && ../$(BIN)/python load.py
