"""The URL corpus (tests/cases/urls/corpus.tsv): every spelling gets its expected verdict."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from catalog_lib.rules.urls import (
    INVALID_FORMAT,
    NON_ASCII_HOST,
    PRIVATE_HOST,
    _check_url_fully,
    check_url_host,
)

CORPUS = Path(__file__).parents[2] / "cases" / "urls" / "corpus.tsv"
VERDICTS = {
    "ok": None,
    "private": PRIVATE_HOST,
    "invalid": INVALID_FORMAT,
    "homograph": NON_ASCII_HOST,
    "scheme": "scheme",
}


def load_corpus() -> list[tuple[str, str, str]]:
    """(verdict, url, why) for every non-comment line of the corpus file."""
    entries = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        verdict, url, why = line.split("\t")
        assert verdict in VERDICTS, line
        entries.append((verdict, url, why))
    return entries


ENTRIES = load_corpus()


def _verdict(reason: str | None) -> str:
    if reason is not None and reason.startswith("Product URL scheme must be http: or https:"):
        return "scheme"
    return {v: k for k, v in VERDICTS.items() if k != "scheme"}[reason]


@pytest.mark.parametrize(
    ("verdict", "url", "why"), ENTRIES, ids=[f"{v}:{u}" for v, u, _ in ENTRIES]
)
def test_corpus_verdict(verdict: str, url: str, why: str) -> None:
    assert _verdict(check_url_host(url)) == verdict, why
    # The plain-URL shortcut never decides differently from the full parse.
    assert check_url_host(url) == _check_url_fully(url)


def test_corpus_is_large_and_covers_every_verdict() -> None:
    counts = Counter(v for v, _, _ in ENTRIES)
    assert len(ENTRIES) >= 100
    assert set(counts) == set(VERDICTS)
    assert len({u for _, u, _ in ENTRIES}) == len(ENTRIES)  # no duplicate spellings
