# Outsourcing Tracker: `make run` to use it, `make test` to check it.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run setup setup-dev test lint format bench messages compilemessages screenshot journeys static clean help backup restore load cluster-test
.DEFAULT_GOAL := help

# DEBUG is off unless asked for (outsourcing/settings.py), so a server started without
# it is safe; these development commands ask for it (an explicit DEBUG=... wins).
# `make static` does not: it builds the production manifest.
run compilemessages messages: export DEBUG ?= true

help:
	@echo "make run    set up and serve web + workers + beat on http://$(HOST):$(PORT)"
	@echo "make test   the whole test suite"
	@echo "make lint   ruff, mypy, the import contracts, bandit and pip-audit"
	@echo "make bench  the benchmarks"
	@echo "make load   locust against one host (gunicorn, workers, beat) at CLUSTER_SCALE"
	@echo "make cluster-test  web, workers, beats on separate network namespaces, under load and faults (root)"

$(VENV)/.created:
	@python=$$(bin/find-python) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	touch $@

$(VENV)/.runtime: $(VENV)/.created requirements.txt
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Compiled catalogs are built, not committed.
compilemessages: $(VENV)/.runtime
	@command -v msgfmt >/dev/null || { echo "gettext is needed to compile the German catalog: apt-get install gettext"; exit 1; }
	@$(MANAGE) compilemessages --ignore=.venv --ignore=node_modules -v 0

setup: $(VENV)/.runtime node_modules/.installed compilemessages

setup-dev: $(VENV)/.dev node_modules/.installed compilemessages

run: setup
	$(MANAGE) migrate --no-input -v 0
	$(MANAGE) seed_demo --if-empty
	@echo "Serving on http://$(HOST):$(PORT)  (demo login: demo@example.com / demo; Ctrl-C stops everything)"
	@# Honcho gives each process its own PORT (worker PORT+100): WEB_PORT tells the worker, which
	@# mails the links, where the web serves (outsourcing/settings.py, site_url).
	HOST=$(HOST) PORT=$(PORT) WEB_PORT=$(PORT) $(VENV)/bin/honcho start -f Procfile

test: setup-dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/bandit -c pyproject.toml -r . --severity-level medium --quiet
	$(PY) bin/audit_dependencies.py

format: setup-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup-dev
	$(PY) -m bench.flagging
	$(PY) -m bench
	$(PY) -m bench.pages
	$(PY) -m bench.reliability
	$(PY) -m bench.freshness
	$(PY) -m bench.mail_import
	$(PY) -m bench.bulk
	$(PY) -m bench.import_table
	$(PY) -m bench.chat_import
	$(PY) -m bench.archive
	$(PY) -m bench.api
	$(PY) -m bench.search

# Proof at scale (issue 16; README, Proof at scale). CLUSTER_SCALE is seed_demo's --scale
# (2500: the benchmarks' million messages); LOAD_SECONDS, LOAD_USERS: the run (cluster/load.py).
load: setup-dev
	$(PY) -m cluster.load

# Needs root (network namespaces); uses only its namespaces' addresses, never 127.0.0.1's services.
cluster-test: setup-dev
	$(PY) -m cluster.netns

messages: setup-dev
	$(MANAGE) makemessages -l de --ignore=.venv --ignore=node_modules --ignore=staticfiles --ignore=var --no-obsolete

# Re-take docs/screenshot.png (the README's) from the browser walkthrough test.
screenshot: setup-dev
	UPDATE_SCREENSHOT=1 $(PY) -m pytest tests/browser -q

# A folder under BACKUP_DIR (var/backups) with the database and the uploaded files.
backup: setup
	$(MANAGE) backup

# make restore BACKUP=var/backups/outsourcing-20261205-120000 (into an empty database, then migrate).
restore: setup
	@test -n "$(BACKUP)" || { echo "make restore BACKUP=path/to/backup-folder"; exit 2; }
	$(MANAGE) restore "$(BACKUP)"
	$(MANAGE) migrate --no-input

# The two users' journeys (and axe-core on each page) in Chromium: var/screenshots/journey-*.png.
journeys: setup-dev
	$(PY) -m pytest tests/browser/test_journeys.py -q

static: setup
	$(MANAGE) collectstatic --no-input -v 0

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .mypy_cache .ruff_cache
