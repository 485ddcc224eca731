# One command to set up and run, one to set up and test (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup test run lint format benchmarks clean

# Every audio model under one artist-disjoint 5-fold run; the musicnn fine-tuning config runs on
# its own (about 50 minutes on 2 CPU cores, see BENCHMARKS.md).
AUDIO_CONFIGS := $(filter-out %/musicnn-finetune.toml,$(wildcard configs/gtzan-audio/*.toml))

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

test: setup lint
	$(BIN)/pytest --durations=15

run: setup
	$(BIN)/genrekit app

lint: setup
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	MYPYPATH=src $(BIN)/mypy --explicit-package-bases -p genrekit -p beetsplug

format: setup
	$(BIN)/ruff check --fix src tests benchmarks tools
	$(BIN)/ruff format src tests benchmarks tools

benchmarks: setup
	$(BIN)/python benchmarks/feature_speed.py --limit 60
	$(BIN)/python benchmarks/predict_cold_start.py
	$(BIN)/python benchmarks/classical_cv.py
	$(BIN)/python benchmarks/similarity.py
	$(BIN)/python benchmarks/ann_recall.py
	$(BIN)/python benchmarks/index_throughput.py --songs 40
	$(BIN)/python benchmarks/musicnn_speed.py --clips 20
	$(BIN)/python benchmarks/musicnn_int8.py
	$(BIN)/python benchmarks/long_tracks.py
	$(BIN)/python benchmarks/timeline.py
	$(BIN)/python benchmarks/predict_cost.py
	$(BIN)/python benchmarks/robustness.py
	$(BIN)/python benchmarks/open_world.py
	$(BIN)/python benchmarks/few_shot.py
	$(BIN)/genrekit compare $(AUDIO_CONFIGS) -o benchmarks/results/audio
	$(BIN)/genrekit compare configs/gtzan-audio-leaky/logmel-cnn-segment-random.toml -o benchmarks/results/audio-leaky
	$(BIN)/genrekit compare configs/gtzan-audio/musicnn-finetune.toml -o benchmarks/results/audio-finetune

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
