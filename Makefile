# The two commands of README.md. Both install what they need first.
PYTHON ?= python3

.PHONY: demo test install install-test smoke

demo: install
	$(PYTHON) -m server.cli demo

smoke: install
	$(PYTHON) -m server.cli demo --smoke --port 8799

# pytest-randomly (test extra) shuffles the order on every run: each test passes alone and in any order.
test: install-test
	$(PYTHON) -m pytest

install:
	PYTHON=$(PYTHON) bash scripts/install.sh

install-test:
	PYTHON=$(PYTHON) bash scripts/install.sh --test
