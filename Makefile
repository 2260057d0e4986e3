# Two commands do all the set-up on a fresh machine (see README.md):
#   make demo   -- the main job
#   make test   -- install and run the test suite
# The CPU build of torch is installed first, pinned, so that nothing resolves `torch`
# to a multi-GB CUDA build.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
TORCH   ?= torch==2.13.0
# Use the project's shared copy of the datasets when it sits beside the checkout; elsewhere
# nn2gpt finds them in ~/.cache/nn2gpt or downloads them (and checks their sha256).
ifneq ($(wildcard ../shared/data),)
export NN2GPT_DATA ?= $(abspath ../shared/data)
endif

$(BIN)/nn2gpt: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/nn2gpt

# The main job: train a GPT on Tiny Shakespeare (CPU-friendly defaults, about 2 minutes on
# 2 cores; see BENCHMARKS.md), then stream a sample from it.
demo: install
	$(BIN)/nn2gpt gpt train --out runs/gpt --overwrite --max-seconds 100
	$(BIN)/nn2gpt gpt sample --model runs/gpt --prompt "ROMEO:" --max-new-tokens 500 --seed 0
	@echo "Look inside it: make studio, then open http://127.0.0.1:8000/"

# The studio's browser tests drive Debian's chromium package; it is installed here when missing
# (as root, or through sudo).
browser:
	@command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

test: install browser
	$(BIN)/python -m pytest -q

# After `make demo`: the local web page over runs/ (http://127.0.0.1:8000/)
studio: install
	$(BIN)/nn2gpt studio --runs runs

.PHONY: install browser demo test studio
