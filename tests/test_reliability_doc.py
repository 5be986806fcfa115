"""docs/reliability.md stays honest: every test it cites exists; production.md matches the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
RELIABILITY = ROOT / "docs" / "reliability.md"


def _defined_tests() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.update(re.findall(r"^\s*def (test_\w+)", path.read_text(encoding="utf-8"), re.M))
    return names


def test_every_cited_test_exists() -> None:
    text = RELIABILITY.read_text(encoding="utf-8")
    cited = set(re.findall(r"\b(test_\w+)\b(?!\.py)", text))
    assert cited, "the guarantee table cites no test"
    assert cited - _defined_tests() == set()


def test_every_cited_test_file_exists() -> None:
    cited = re.findall(r"`(tests/[\w/]+\.py)", RELIABILITY.read_text(encoding="utf-8"))
    assert cited
    assert [path for path in cited if not (ROOT / path).is_file()] == []


@pytest.mark.parametrize("claim", ["has no effect", "is read but"])
def test_production_doc_does_not_say_the_sentry_dsn_is_ignored(claim: str) -> None:
    text = (ROOT / "docs" / "production.md").read_text(encoding="utf-8")
    sentry_lines = [line for line in text.splitlines() if "SENTRY_DSN" in line]
    assert sentry_lines
    assert not any(claim in line for line in sentry_lines)
