# The two entry points of the README. Each creates .venv if it is missing.
PY := .venv/bin/python

.PHONY: demo test bench clean

.venv/.installed: pyproject.toml
	python3 -m venv .venv
	# torch and torchvision first, pinned, so pip takes the wheels this machine has on disk.
	.venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1
	.venv/bin/pip install -q -e '.[dev]'
	touch $@

demo: .venv/.installed
	.venv/bin/coinfer info

test: .venv/.installed
	$(PY) -m pytest

clean:
	rm -rf .venv runs
