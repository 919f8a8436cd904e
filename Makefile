# The two commands a newcomer needs: `make demo` and `make test`.
.PHONY: setup demo test check lint bench clean

setup:
	scripts/setup

demo: setup
	.venv/bin/homecare demo

test: setup
	scripts/check

check: test

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

bench: setup
	.venv/bin/python -m bench all

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
