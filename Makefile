# The two set-up commands of the README:
#   make demo   - set everything up, bring up the local model's demo and print its status
#   make test   - set everything up and run every test (lint, unit, integration)
#   make charm  - build the deployable charm, build/etcd.charm (offline, see docs/building.md)
#   make bench  - the benchmark on the local model: bench/report.md, report.json and plots
.PHONY: setup charm demo test lint unit integration bench clean-models

# mypy checks the files [tool.mypy] lists in pyproject.toml; each of these built-in charms' entry
# points is a module named charm on its charm's own sys.path, so each is checked in a run of its own
CHARM_ENTRY_POINTS = localjuju/charms/easyrsa/src/charm.py localjuju/charms/etcd-client/src/charm.py tests/charms/etcd-deb/src/charm.py tests/charms/etcd-snap-era/src/charm.py tests/charms/lma-stand-in/src/charm.py tests/charms/cos-agent-stand-in/src/charm.py tests/charms/nrpe-stand-in/src/charm.py tests/charms/s3-integrator-stand-in/src/charm.py

setup:
	scripts/setup

charm: setup
	.venv/bin/python scripts/build-charm

demo: setup charm
	.venv/bin/python scripts/demo.py

lint: setup
	.venv/bin/ruff check conftest.py localjuju lib reactive hooks/relations tests unit_tests scripts bench scripts/build-charm scripts/capture-etcdctl-fixtures
	.venv/bin/black --check -q conftest.py localjuju lib reactive hooks/relations tests unit_tests scripts bench scripts/build-charm scripts/capture-etcdctl-fixtures
	.venv/bin/mypy
	for f in $(CHARM_ENTRY_POINTS); do .venv/bin/mypy "$$f" || exit 1; done

test: setup charm
	.venv/bin/ruff check conftest.py localjuju lib reactive hooks/relations tests unit_tests scripts bench scripts/build-charm scripts/capture-etcdctl-fixtures
	.venv/bin/black --check -q conftest.py localjuju lib reactive hooks/relations tests unit_tests scripts bench scripts/build-charm scripts/capture-etcdctl-fixtures
	.venv/bin/mypy
	for f in $(CHARM_ENTRY_POINTS); do .venv/bin/mypy "$$f" || exit 1; done
	.venv/bin/pytest -ra --durations=40 localjuju/tests unit_tests tests

unit: setup
	.venv/bin/pytest -ra localjuju/tests unit_tests -m "not integration"

integration: setup charm
	.venv/bin/pytest -ra tests

bench: setup charm
	.venv/bin/python -m bench

clean-models:
	.venv/bin/python -m localjuju.cleanup
