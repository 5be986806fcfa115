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

test:
	uv run pytest

check: lint typecheck layers deps test
