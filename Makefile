# backprop-derive. `make derive ARCH=2-3-2` and `make test` work on a fresh machine:
# they create .venv, install the package and (as root) TeX from Debian packages.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# User values reach the shell through the environment, never pasted into a command line.
export BD_ARCH := $(value ARCH)
export BD_ACT := $(value ACT)
export BD_LOSS := $(value LOSS)
export BD_NOTATION := $(value NOTATION)
export BD_OUT := $(value OUT)
export BD_STYLE := $(value STYLE)
export BD_EXAMPLE := $(value EXAMPLE)
export BD_BIAS := $(value BIAS)
export BD_MEAN := $(value MEAN)
export BD_OPTIMIZER := $(value OPTIMIZER)
export BD_WEIGHT_DECAY := $(value WEIGHT_DECAY)
export BD_DECAY_BIASES := $(value DECAY_BIASES)
export BD_AGAINST := $(value AGAINST)
# the raw values above are all the recipes see: exporting the variables themselves would expand them
unexport ARCH ACT LOSS NOTATION OUT STYLE EXAMPLE BIAS MEAN OPTIMIZER WEIGHT_DECAY DECAY_BIASES AGAINST

BROWSER_PACKAGES := chromium chromium-driver
TEX_PACKAGES := texlive-latex-base texlive-latex-recommended texlive-pictures texlive-fonts-recommended poppler-utils

.PHONY: help derive test test-fast lint clean tex browser venv diff bench need-arch

# A bare `make` explains itself instead of installing anything.
.DEFAULT_GOAL := help
help:
	@echo "backprop-derive: derive backpropagation for a named network"
	@echo ""
	@echo "  make derive ARCH=2-3-2 [ACT=tanh,softmax] [LOSS=ce] [NOTATION=bishop] [OUT=dir]"
	@echo "                      write generated/<name>/: derivation.pdf/.html/.tex, trainer.py, formulas.json"
	@echo "  make diff ARCH=2-3-2 [AGAINST=all] [ACT=...] [LOSS=...]"
	@echo "                      compare the derived formulas with textbook forms (each source declares"
	@echo "                      its own bias, weight decay and update rule)"
	@echo "  make test           the whole test suite (installs what is missing first)"
	@echo "  make test-fast      the suite without the slow tests"
	@echo "  make lint           ruff check and format check"
	@echo "  make bench          timings, written to bench/results.md"
	@echo "  make venv           create .venv with the package and its test tools"
	@echo "  make clean          remove .venv and caches"
	@echo "  make help           this list"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

venv: $(STAMP)

# TeX: installed from Debian packages when we are root; otherwise one line says what to run.
tex:
	@if command -v pdflatex >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing TeX from Debian packages (once)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEX_PACKAGES) >/dev/null; \
	else \
	  echo "TeX is missing: run 'sudo apt-get install --no-install-recommends $(TEX_PACKAGES)' (the .tex is still written)" >&2; \
	fi

# Headless Chromium for the web page's browser test, the same way: Debian packages as root, else one line.
# Under CI (CI=true) the test fails without it rather than skipping.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Chromium from Debian packages (once)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null; \
	else \
	  echo "Chromium is missing: run 'sudo apt-get install --no-install-recommends $(BROWSER_PACKAGES)' (the browser test skips without it)" >&2; \
	fi

need-arch:
	@if [ -z "$$BD_ARCH" ]; then echo "usage: make derive ARCH=2-3-2 [ACT=sigmoid|tanh,softmax] [LOSS=sse|mse|ce|bce] [NOTATION=bishop] [BIAS=off] [MEAN=1] [OPTIMIZER=sgd|momentum|adam] [WEIGHT_DECAY=1 [DECAY_BIASES=1]] [STYLE=scalar|vector] [EXAMPLE=file.json] [OUT=dir]" >&2; exit 2; fi

# need-arch comes first so that a missing ARCH is reported before any installing
derive: need-arch $(STAMP) tex
	@set -- build --arch "$$BD_ARCH"; \
	[ -z "$$BD_ACT" ] || set -- "$$@" --act "$$BD_ACT"; \
	[ -z "$$BD_LOSS" ] || set -- "$$@" --loss "$$BD_LOSS"; \
	[ -z "$$BD_NOTATION" ] || set -- "$$@" --notation "$$BD_NOTATION"; \
	[ -z "$$BD_OUT" ] || set -- "$$@" --out "$$BD_OUT"; \
	[ -z "$$BD_STYLE" ] || set -- "$$@" --style "$$BD_STYLE"; \
	[ -z "$$BD_EXAMPLE" ] || set -- "$$@" --example "$$BD_EXAMPLE"; \
	case "$$BD_BIAS" in off|no|0|false) set -- "$$@" --no-bias;; esac; \
	case "$$BD_MEAN" in 1|yes|on|true) set -- "$$@" --mean;; esac; \
	[ -z "$$BD_OPTIMIZER" ] || set -- "$$@" --optimizer "$$BD_OPTIMIZER"; \
	case "$$BD_WEIGHT_DECAY" in 1|yes|on|true) set -- "$$@" --weight-decay;; esac; \
	case "$$BD_DECAY_BIASES" in 1|yes|on|true) set -- "$$@" --decay-biases;; esac; \
	rc=0; $(BIN)/backprop-derive "$$@" || rc=$$?; \
	if [ $$rc = 3 ]; then exit 0; fi; exit $$rc  # 3: no TeX; the .tex is written and one line said how to install it

# Each catalog source declares the network it is compared on (bias, weight decay, its algorithms'
# optimizer): the build options that would change that are refused, not silently ignored.
diff: $(STAMP)
	@if [ -z "$$BD_ARCH" ]; then echo "usage: make diff ARCH=2-3-2 [AGAINST=all|ID,...] [ACT=tanh,sigmoid] [LOSS=sse|mse|ce|bce]" >&2; exit 2; fi
	@bad=; for v in OPTIMIZER:"$$BD_OPTIMIZER" WEIGHT_DECAY:"$$BD_WEIGHT_DECAY" DECAY_BIASES:"$$BD_DECAY_BIASES" BIAS:"$$BD_BIAS" MEAN:"$$BD_MEAN"; do \
	  [ -z "$${v#*:}" ] || bad="$${bad:+$$bad, }$${v%%:*}"; done; \
	if [ -n "$$bad" ]; then echo "make diff: $$bad: an option of make derive, not of the diff; each textbook source is compared with the bias, weight decay and update rule its own catalog file declares" >&2; exit 2; fi
	@set -- diff --arch "$$BD_ARCH" --against "$${BD_AGAINST:-all}"; \
	[ -z "$$BD_ACT" ] || set -- "$$@" --act "$$BD_ACT"; \
	[ -z "$$BD_LOSS" ] || set -- "$$@" --loss "$$BD_LOSS"; \
	$(BIN)/backprop-derive "$$@"

test: $(STAMP) tex browser
	$(BIN)/python -m pytest -n 2 -q

# the edit loop (under a minute): everything but the tests marked slow in tests/conftest.py
test-fast: $(STAMP) tex browser
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check derive tests
	$(BIN)/ruff format --check derive tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Timings live here, not in tests: derivation cost for a doubling series and trainer
# step times against numpy and PyTorch (CPU), written to bench/results.md.
bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/run.py
