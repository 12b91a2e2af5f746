# The two entry points of the README. Each creates .venv if it is missing.
PY := .venv/bin/python

.PHONY: demo test lint bench clean

.venv/.installed: pyproject.toml
	python3 -m venv .venv
	# torch and torchvision first, pinned, so pip takes the wheels this machine has on disk.
	.venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1
	.venv/bin/pip install -q -e '.[dev]'
	touch $@

# A short DDPG search on the Tiny id (CPU, about 2 minutes): 12 episodes, a 9-episode
# replay buffer so that learning starts after 6 warm-up episodes.
demo: .venv/.installed
	.venv/bin/coinfer search --env CoInfer-ResNet50-Tiny-v0 --agent ddpg --episodes 12 \
		--buffer-episodes 9 --seed 0 --out runs/demo

# Undefined names, unused imports, redefinitions, syntax errors (ruff's E9 and F rules).
lint: .venv/.installed
	.venv/bin/ruff check .

test: lint
	$(PY) -m pytest

clean:
	rm -rf .venv runs
