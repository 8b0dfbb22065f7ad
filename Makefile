# powens-django: `make demo` runs the example site on the sandbox, `make test` runs the suite.
# Both build their own virtual environment (.venv) on first use; only Python 3.11+ is needed.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: demo test test-fast nox lint messages messages-update wheel clean help

help:
	@echo "make demo      - run the example site with the Powens sandbox on http://127.0.0.1:$(PORT)"
	@echo "make test      - run the whole test suite (DATABASE_URL selects the database)"
	@echo "make test-fast - the suite without live-server, browser and slow tests (edit-test loop)"
	@echo "make nox       - the Django/Python matrix (noxfile.py; NOX_ARGS='-s django-6.0')"
	@echo "make messages-update - add new messages to the translation catalogues (gettext)"
	@echo "make lint      - ruff and mypy"
	@echo "make wheel     - build the wheel and sdist into dist/"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when the project metadata changes. The demo needs only the app, the REST
# API and the example site's settings library; the tests need the whole toolchain.
$(DEMO_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[drf,demo]'
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,drf,demo]'
	touch $(STAMP) $(DEMO_STAMP)

messages: $(DEMO_STAMP)
	@$(PY) hatch_build.py

# Add new messages of the code to the catalogues (needs GNU gettext), then translate
# them in powens_django/locale/*/LC_MESSAGES/django.po (CONTRIBUTING.md).
messages-update: $(STAMP)
	cd powens_django && ../$(VENV)/bin/django-admin makemessages --all --no-location --no-obsolete \
		--ignore 'sandbox/*' --settings=tests.settings --pythonpath=..

# The sandbox is served by the demo server itself, so the app's catalogue is mirrored
# (over HTTP) by a helper started beside it, once the server answers.
demo: $(DEMO_STAMP) messages
	PORT=$(PORT) $(PY) manage.py demo_setup
	PORT=$(PORT) $(PY) manage.py demo_mirror_catalogue & \
	PORT=$(PORT) exec $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(STAMP) messages
	$(PY) -m pytest $(PYTEST_ARGS)

# `live` marks every test served by a live server (tests/conftest.py marks live_server's
# users), `e2e` the browser tests, `slow` the wheel build and the demo site.
test-fast: $(STAMP) messages
	$(PY) -m pytest -m "not live and not e2e and not slow" $(PYTEST_ARGS)

nox: $(STAMP)
	$(VENV)/bin/nox $(NOX_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

wheel: $(STAMP)
	$(PY) -m build --outdir dist .

clean:
	rm -rf $(VENV) .nox dist build .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
	find powens_django/locale -name '*.mo' -delete
