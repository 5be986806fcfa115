# One place for the checks; .ci/run calls the same targets.
.PHONY: sync lint format typecheck layers deps test check

sync:
	uv sync --frozen

lint:
	uv run ruff check .
	uv run ruff format --check .

format:
	uv run ruff format .
	uv run ruff check --fix .

typecheck:
	uv run mypy

layers:
	uv run lint-imports

# Every declared dependency is imported, and every import is declared (not only transitive).
deps:
	uv run deptry .

# The README's test command: pytest-xdist, one worker per core (at most four).
test:
	uv run pytest -n auto --maxprocesses=4 --dist loadgroup

check: lint typecheck layers deps test
