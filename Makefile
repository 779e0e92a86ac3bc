# orquestra: one entry point for people and CI.
PY ?= .venv/bin/python
STACK ?= dev

.PHONY: install plan test lint typecheck bench charts check clean snapshots

install: .venv/.installed

.venv/.installed: requirements.txt requirements-dev.txt
	python3 -m venv .venv
	.venv/bin/pip install --quiet -r requirements-dev.txt
	# Bytecode for the project's own modules now: where PYTHONDONTWRITEBYTECODE is set, as in many CI
	# images, Python would otherwise compile them from source on every run (a third of a second of `dev`).
	.venv/bin/python -m compileall -q components preflight policies
	touch $@

plan: install
	$(PY) -m preflight $(STACK)

# One worker per core (pytest-xdist): the suite plans every shipped stack many times over.
test: install
	$(PY) -m pytest -q -n auto

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/zizmor --offline --quiet .github

typecheck: install
	.venv/bin/mypy $(wildcard components preflight policies)

# After a change meant to alter plans: rewrite tests/snapshots/<stack>.json, then review their diff.
snapshots: install
	$(PY) -m tests.snapshot

bench: install
	$(PY) -m tests.bench.preflight_bench

# Fills the chart mirror (ORQUESTRA_CHART_MIRROR, else ../shared/charts, else ~/.cache/orquestra/charts)
# with every pinned chart missing from it, from the charts' own repositories; needs network.
charts: install
	$(PY) -m preflight.mirror

check: lint typecheck test

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache out
