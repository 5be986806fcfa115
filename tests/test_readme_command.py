"""CI runs exactly the test command the README gives (and `make test` is the same command)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"Run the tests[^\n]*:\n\n(?:<!--[^\n]*-->\n)?```sh\n([^\n]+)\n```", readme)
    assert match is not None, "README.md has no 'Run the tests' command block"
    return match.group(1).strip()


def _commands(text: str) -> list[str]:
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_the_readme_runs_the_suite_in_parallel() -> None:
    command = _readme_test_command()
    assert command.startswith("uv run pytest ")
    assert re.search(r"(^| )-n (auto|\d+)( |$)", command)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = _commands((ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    pytest_lines = [line for line in ci if "pytest" in line]
    assert pytest_lines == [_readme_test_command()]


def test_make_test_runs_the_readme_test_command() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^test:\n\t([^\n]+)", makefile, re.M)
    assert recipe is not None
    assert recipe.group(1).strip() == _readme_test_command()


def test_warnings_are_errors_and_every_exception_is_narrow() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    filters = pyproject["tool"]["pytest"]["ini_options"]["filterwarnings"]
    assert filters[0] == "error"
    # The one category-wide rule: ResourceWarnings are shown, never ignored (see pyproject).
    assert "default::ResourceWarning" in filters
    for rule in filters[1:]:
        if rule == "default::ResourceWarning":
            continue
        action, message, category, *_ = [*rule.split(":"), "", ""]
        assert action == "ignore"
        assert message, f"{rule!r} ignores a whole category, not one message"
        assert category, f"{rule!r} names no warning category"
