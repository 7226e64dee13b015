# scsr-snn — two commands: `make test` (every test) and `make flow` (the end-to-end flow).
# Both set up what they need first: Debian packages (installed when run as root, otherwise
# listed), a virtual environment in .venv and the project in editable mode. A set-up
# machine skips all of that in well under a second (stamp files).

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
# Debian packages the project needs (command or file that proves each is there).
APT_PACKAGES := git iverilog g++ make espeak-ng flite
TORCH_PIN   := torch==2.13.0

.PHONY: setup test test-fast flow flow-quick lint bench clean help

help:
	@echo "make setup      - Debian packages (as root), .venv, the project (a no-op once done)"
	@echo "make test       - set up (if needed) and run every test"
	@echo "make test-fast  - the tests that need no HDL simulator, synthesis or long run"
	@echo "make flow       - set up, then 'scsr flow': digits -> model -> RTL -> iCE40 bitstream"
	@echo "                  in build/flow (FLOW_ARGS='--dataset letters ...' for other runs)"
	@echo "make flow-quick - the same on tiny data in about a minute (build/flow-quick)"
	@echo "make lint       - ruff"
	@echo "make bench      - the benchmarks that take minutes, JSON into build/bench (README)"
	@echo "make clean      - remove build/ and the pytest cache"

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile tools/setup-system.sh
	@bash tools/setup-system.sh $(APT_PACKAGES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c 'import torch' 2>/dev/null || $(BIN)/python -m pip install --quiet '$(TORCH_PIN)'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

test: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: setup
	$(BIN)/python -m pytest -n 2 -m "not slow and not cosim and not synth"

lint: setup
	$(BIN)/ruff check .

flow: setup
	$(BIN)/scsr flow $(FLOW_ARGS)

flow-quick: setup
	$(BIN)/scsr flow --quick --out build/flow-quick $(FLOW_ARGS)

bench: setup
	@mkdir -p build/bench
	$(BIN)/python -m benchmarks.golden_speed --out build/bench/golden_speed.json
	$(BIN)/python -m benchmarks.torch_int_speed --out build/bench/torch_int_speed.json
	$(BIN)/python -m benchmarks.train_speed --out build/bench/train_speed.json
	$(BIN)/python -m benchmarks.rtl_cycles --bundle models/digits-8k --samples 2 \
		--out build/bench/rtl_cycles.json

clean:
	rm -rf build .pytest_cache
