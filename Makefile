# The two entry points of the README. Each creates .venv if it is missing.
PY := .venv/bin/python

.PHONY: demo test lint bench clean

.venv/.installed: pyproject.toml
	python3 -m venv .venv
	# torch and torchvision first, pinned, so pip takes the wheels this machine has on disk.
	.venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1
	.venv/bin/pip install -q -e '.[dev]'
	touch $@

# A short search on the Tiny id (CPU, a few minutes): Optuna's TPE, 30 episodes (its first
# 10 are random, then it models what it has seen). reward.png draws every design found,
# its Pareto front and the unpruned network beside the best-so-far curve.
demo: .venv/.installed
	.venv/bin/coinfer search --env CoInfer-ResNet50-Tiny-v0 --agent tpe --episodes 30 --seed 0 --out runs/demo

# Undefined names, unused imports, redefinitions, syntax errors (ruff's E9 and F rules).
lint: .venv/.installed
	.venv/bin/ruff check .

# Two pytest workers of one thread each: most tests run short subprocesses that cannot use
# a second thread, and two-thread processes beside each other spin. On this project's
# 2-core VM the suite took 435 s against 852 s as one process of 2 threads (run one
# after the other, 2026-12-04).
test: lint
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n 2

clean:
	rm -rf .venv runs
