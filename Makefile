# Two commands do all the set-up on a fresh machine (see README.md):
#   make demo   -- the main job
#   make test   -- install and run the test suite
# PyTorch is installed first, pinned, and then this package (which finds it already there):
#   - with an NVIDIA GPU (nvidia-smi on the PATH): the CUDA build, from the configured package
#     index (PyPI's Linux wheels of torch are the CUDA build);
#   - without one: the CPU build, from PyTorch's own CPU wheel index, so that pip never pulls
#     the multi-GB CUDA build onto a machine that cannot use it;
#   - if PyTorch's index cannot be reached (a machine whose only package source is a mirror
#     of PyPI), the same pinned version from the configured index.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
TORCH   ?= torch==2.13.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
NVIDIA_SMI ?= nvidia-smi
# Use the project's shared copy of the datasets when it sits beside the checkout; elsewhere
# nn2gpt finds them in ~/.cache/nn2gpt or downloads them (and checks their sha256).
ifneq ($(wildcard ../shared/data),)
export NN2GPT_DATA ?= $(abspath ../shared/data)
endif

# Answers within 10 s whether PyTorch's CPU index can be reached from here.
CAN_REACH = $(BIN)/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/torch/', timeout=10)"

$(BIN)/nn2gpt: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@if command -v $(NVIDIA_SMI) >/dev/null 2>&1; then \
	  echo "$(NVIDIA_SMI) found: installing the CUDA build of $(TORCH)"; \
	  $(BIN)/pip install -q "$(TORCH)"; \
	elif $(CAN_REACH) "$(TORCH_CPU_INDEX)" 2>/dev/null && \
	     $(BIN)/pip install -q --index-url "$(TORCH_CPU_INDEX)" "$(TORCH)"; then \
	  echo "installed the CPU build of $(TORCH) from $(TORCH_CPU_INDEX)"; \
	else \
	  echo "no CPU build from PyTorch's index ($(TORCH_CPU_INDEX) out of reach): $(TORCH) from the configured index"; \
	  $(BIN)/pip install -q "$(TORCH)"; \
	fi
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/nn2gpt

# The main job: train a GPT on Tiny Shakespeare (CPU-friendly defaults, about 2 minutes on
# 2 cores; see BENCHMARKS.md), then stream a sample from it.
demo: install
	@echo "Training chapter 6's record, --recipe speedrun (RoPE, Muon, zero-init, an untied head), for up to 100 s;"
	@echo "chapter 2's GPT is the default recipe, classic: nn2gpt gpt train --out runs/classic"
	$(BIN)/nn2gpt gpt train --recipe speedrun --out runs/gpt --overwrite --max-seconds 100
	$(BIN)/nn2gpt gpt sample --model runs/gpt --prompt "ROMEO:" --max-new-tokens 500 --seed 0
	@echo "Look inside it: make studio, then open http://127.0.0.1:8000/"

# The studio's browser tests drive Debian's chromium package; it is installed here when missing
# (as root, or through sudo).
browser:
	@command -v chromium >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

# The tests in parallel, two workers per core (at most 8: each imports torch), then the 15 slowest. Two per
# core, because many tests wait on a process they started (a trainer stopped by a signal, a browser, a
# lock held by another process): a second worker uses the core meanwhile. `-m 'not slow'` for a quick pass.
# Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set: every worker and every `python -m nn2gpt` a
# test starts would compile the tests (and their assertions) and the package again.
test: install browser
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n $$($(BIN)/python -c "from nn2gpt.machine import cores; print(min(8, 2 * cores()))") \
	  --dist worksteal --durations=15

# After `make demo`: the local web page over runs/ (http://127.0.0.1:8000/)
studio: install
	$(BIN)/nn2gpt studio --runs runs

.PHONY: install browser demo test studio
