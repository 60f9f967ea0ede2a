# The two set-up commands of the README:
#   make demo   - set everything up, bring up the local model's demo and print its status
#   make test   - set everything up and run every test (lint, unit, integration)
.PHONY: setup demo test lint unit integration clean-models

setup:
	scripts/setup

demo: setup
	.venv/bin/python scripts/demo.py

lint: setup
	.venv/bin/ruff check localjuju tests unit_tests scripts
	.venv/bin/black --check -q localjuju tests unit_tests scripts

test: setup
	.venv/bin/ruff check localjuju tests unit_tests scripts
	.venv/bin/black --check -q localjuju tests unit_tests scripts
	.venv/bin/pytest -ra localjuju/tests unit_tests tests

unit: setup
	.venv/bin/pytest -ra localjuju/tests unit_tests -m "not integration"

integration: setup
	.venv/bin/pytest -ra tests

clean-models:
	.venv/bin/python -m localjuju.cleanup
