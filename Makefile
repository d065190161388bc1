# Two entry points for a fresh Debian machine: `make demo` and `make test`.
# Each installs what it needs: Debian packages (apt-get), the virtualenv .venv/, Python deps.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Pinned versions of every Python package (Airflow 3.3.2 and its dependencies, our extras), one
# file per Python version: installs are the same on every machine (docs/decisions.md, issue 13).
PY_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
CONSTRAINTS := config/constraints-$(PY_VERSION).txt

APT_PACKAGES := tesseract-ocr tesseract-ocr-ara tesseract-ocr-chi-sim tesseract-ocr-chi-tra \
	tesseract-ocr-chi-sim-vert tesseract-ocr-chi-tra-vert tesseract-ocr-eng tesseract-ocr-osd \
	ghostscript qpdf poppler-utils fonts-noto-cjk fonts-noto-core libraqm0 libfribidi0 \
	ca-certificates chromium chromium-driver idzebra-2.0 postgresql

LANDING := var/landing
SAMPLE := $(LANDING)/sample-batch-001
# Links in the demo's manifests and feeds point at `cadl serve --port 8800` (file:// ids are
# invalid IIIF and publication refuses them).
DEMO_BASE_URL := http://127.0.0.1:8800
SERIAL_SAMPLE := $(LANDING)/sample-batch-002

DISTRIBUTED_APT_PACKAGES := redis-server

.PHONY: demo test test-distributed system-deps venv viewers constraints clean

# Debian packages: only those missing are installed, so a prepared machine needs no network.
system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/activate
	$(BIN)/pip install -q --upgrade pip
	@# Both install a module named opencc; the official binding replaced it in issue 13.
	$(BIN)/pip uninstall -q -y opencc-python-reimplemented 2>/dev/null || true
	$(BIN)/pip install -q -c $(CONSTRAINTS) -e '.[test,distributed]'
	touch $@

$(CONSTRAINTS):
	@echo "no $(CONSTRAINTS) for Python $(PY_VERSION): run 'make constraints' on a machine with" \
		"that Python, test, and commit the file" >&2; exit 1

# Resolve pyproject.toml's dependencies afresh in a scratch virtualenv and pin what pip chose.
constraints:
	rm -rf var/constraints-venv
	$(PYTHON) -m venv var/constraints-venv
	var/constraints-venv/bin/pip install -q --upgrade pip
	var/constraints-venv/bin/pip install -q -e '.[test,distributed]'
	{ sed -n '/^#/p' $(CONSTRAINTS) 2>/dev/null; \
	  var/constraints-venv/bin/pip freeze --exclude-editable; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf var/constraints-venv

venv: system-deps $(VENV)/.installed

demo: venv
	@[ -d $(SAMPLE) ] || $(BIN)/cadl sample $(LANDING)
	CADL_ACCESS_BASE_URL=$${CADL_ACCESS_BASE_URL:-$(DEMO_BASE_URL)} $(BIN)/cadl run $(SAMPLE)
	@[ -d $(SERIAL_SAMPLE) ] || $(BIN)/cadl sample $(LANDING) --serial-only
	CADL_ACCESS_BASE_URL=$${CADL_ACCESS_BASE_URL:-$(DEMO_BASE_URL)} $(BIN)/cadl run $(SERIAL_SAMPLE)
	@echo
	@echo "Bags (preservation):  var/preservation/items/"
	@echo "Access packages:      var/access/items/"
	@echo "Catalogue:            var/access/catalogue.json"
	@echo "Report:               var/reports/sample-batch-001/report.html (and report.txt, report.json)"
	@echo "Serial and catalogue-record sample: var/reports/sample-batch-002/report.html"
	@CADL_ACCESS_BASE_URL=$${CADL_ACCESS_BASE_URL:-$(DEMO_BASE_URL)} $(BIN)/cadl up

# IIIF viewers the tests open our manifests in (Mirador), from the npm registry, pinned by
# tests/viewers/package-lock.json; node_modules stays out of git.
VIEWERS := tests/viewers
# npm from Debian only where no npm is on the PATH (a machine may have Node.js from elsewhere,
# whose npm Debian's package would conflict with).
$(VIEWERS)/node_modules/.installed: $(VIEWERS)/package.json $(VIEWERS)/package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends npm; }
	cd $(VIEWERS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

viewers: system-deps $(VIEWERS)/node_modules/.installed

test: venv viewers
	$(BIN)/python -m pytest

# Postgres, Redis, an Airflow scheduler, dag-processor, api-server and two Celery workers, all on
# 127.0.0.1, started and stopped by the test itself.
test-distributed: venv
	@$(MAKE) --no-print-directory system-deps APT_PACKAGES="$(DISTRIBUTED_APT_PACKAGES)"
	$(BIN)/python -m pytest -m distributed tests/distributed

clean:
	rm -rf var
