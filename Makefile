# cloudflock: `make demo` runs the KINC workflow on the embedded default (one machine's Docker engine);
# `make test` runs the whole suite. Both start from a fresh machine: they create .venv and install what
# they need, Docker included.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INVENTORY ?= inventory/local
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
COLLECTION_LINK := .collections/ansible_collections/cloudflock/htcondor

.PHONY: demo test venv collection provision run teardown unit lint federation bench clean

demo: provision run

venv: $(BIN)/.installed
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet '.[test,lint,molecule]'
	touch $@

collection: $(COLLECTION_LINK)
$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

provision: venv collection
	$(BIN)/ansible-playbook site.yml -i $(INVENTORY)

run: venv collection
	$(BIN)/ansible-playbook kinc.yml -i $(INVENTORY)

teardown: venv collection
	$(BIN)/ansible-playbook playbooks/teardown.yml -i $(INVENTORY)

unit: venv collection
	$(BIN)/python -m pytest tests/unit images/kinc/tests -q

# Two pytest-xdist workers: most of the suite waits on HTCondor, apt and containers, not on the two cores;
# each test module stays on one worker, the longest first (tests/conftest.py). PYTEST_PARALLEL= runs one process.
PYTEST_PARALLEL ?= -n 2 --dist loadfile --no-loadscope-reorder

# The whole suite: Docker installed and started (by the docker role), the images built, then every test;
# CLOUDFLOCK_REQUIRE_DOCKER=1 makes a missing engine a failure, never a skip.
test: provision lint
	CLOUDFLOCK_REQUIRE_DOCKER=1 CLOUDFLOCK_REQUIRE_MOLECULE=1 $(BIN)/python -m pytest $(PYTEST_PARALLEL) --durations=40

# The three-host, two-cloud scenario alone (also part of `make test`): host containers provisioned by
# site.yml, a swarm overlay, pools through marathon_app against one Marathon API double per cloud, KINC
# across both clouds, the second cloud's executor lost mid-run.
federation: provision
	CLOUDFLOCK_REQUIRE_DOCKER=1 $(BIN)/python -m pytest -s tests/integration/test_federation.py

lint: venv collection
	$(BIN)/ruff check plugins tests images bench
	$(BIN)/ansible-lint --offline

# Every bench, gathered into one JSON file under bench/results/ (machine, commit, figures beside their goals)
# and a PNG of the 2/4/8-pool curve; bench/report.py --only/--skip NAME picks benches.
bench: provision
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) .collections .pytest_cache
