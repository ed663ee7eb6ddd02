# The two commands of README.md. Both install what they need first. With no PYTHON given they make
# the virtualenv .venv (Debian's system Python is externally managed) and install into it; CI passes
# PYTHON=… (its own fresh venv) and any other interpreter works the same way.
VENV := .venv
PYTHON ?= $(VENV)/bin/python

.PHONY: demo test install install-test smoke

demo: install
	$(PYTHON) -m server.cli demo

smoke: install
	$(PYTHON) -m server.cli demo --smoke --port 8799

# pytest-randomly (test extra) shuffles the order on every run: each test passes alone and in any order.
test: install-test
	$(PYTHON) -m pytest

install install-test: | $(filter $(VENV)/bin/python,$(PYTHON))

$(VENV)/bin/python:
	python3 -m venv $(VENV)

install:
	PYTHON=$(PYTHON) bash scripts/install.sh

install-test:
	PYTHON=$(PYTHON) bash scripts/install.sh --test
