# Two commands for a fresh machine: `make demo` and `make test`. Both create the virtualenv
# and install once; later runs reuse it (re-installing only when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-fast soak lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

demo: install
	$(BIN)/caudal demo

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

soak: install
	CAUDAL_SOAK=1 $(BIN)/python -m pytest -k 10-kills

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src

bench: install
	$(BIN)/python benchmarks/kafka_source.py
	$(BIN)/python benchmarks/alerts.py
	$(BIN)/python benchmarks/broker.py
	$(BIN)/python benchmarks/images.py --browser
	$(BIN)/python benchmarks/emergencies.py
	$(BIN)/python benchmarks/trades.py
	$(BIN)/python benchmarks/lakehouse.py
	$(BIN)/python benchmarks/trades_stages.py
	$(BIN)/python benchmarks/lakehouse_stages.py
	$(BIN)/python benchmarks/summary.py

clean:
	rm -rf $(VENV) .caudal
