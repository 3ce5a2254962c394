# KIM Portal – the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
E2E_DIR := tests/e2e
AXE := $(E2E_DIR)/node_modules/axe-core/axe.min.js
MO_FILES := $(patsubst %.po,%.mo,$(wildcard portal/translations/*/LC_MESSAGES/messages.po))

.PHONY: run test lint format translations translations-update system-deps install bench

run: install translations
	$(BIN)/portal init
	@$(BIN)/portal seed-demo
	$(BIN)/portal serve --host 127.0.0.1 --port 5000

# One worker per core (pytest-xdist; idle workers take over queued tests): each has its own
# SQLite template, PostgreSQL database and live server.
test: install translations system-deps
	$(BIN)/pytest -n auto --dist worksteal

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

translations: $(MO_FILES)

%.mo: %.po
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

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
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else echo "missing Debian packages:$$missing (their tests will be skipped)"; fi; \
	fi
	@test -f $(AXE) || npm install --prefix $(E2E_DIR) --no-audit --no-fund --no-package-lock --silent

bench: install translations
	cd bench && ../$(BIN)/python dedup.py && for b in case_folder.py upload.py dashboard.py; do for db in sqlite postgresql; do ../$(BIN)/python $$b $$db; done; done && ../$(BIN)/python pdf.py
