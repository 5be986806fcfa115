"""Trigger bodies and storage events → ingest targets (pure validation, no IO)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from catalog_lib.core.errors import InvalidRequestError
from catalog_lib.rules.intake import (
    IngestTarget,
    LandingRoot,
    check_relative_key,
    parse_body,
    plan_intake,
    source_of,
)

BUCKET_ROOT = LandingRoot.from_uri("s3://packrat-scrapy-bucket")
PREFIXED_ROOT = LandingRoot.from_uri("s3://packrat-scrapy-bucket/v2")


def _r2(key: str, action: str = "PutObject", bucket: str = "packrat-scrapy-bucket") -> Any:
    return {"account": "a", "action": action, "bucket": bucket, "object": {"key": key}}


@pytest.mark.parametrize(
    "key", ["v2/trailco/a.csv", "v2//trailco/a.csv", "v2/trailco//a.csv", "a.csv"]
)
def test_relative_keys_are_kept_verbatim(key: str) -> None:
    # `v2//a.csv` is its own S3 object: collapsing the empty segment would name another one.
    assert check_relative_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/",
        "/abs.csv",
        "../a.csv",
        "v2/../../a.csv",
        "a\\b.csv",
        "s3://b/k",
        "c:x",
        "a\nb",
        "./a.csv",
        "v2/./a.csv",
    ],
    ids=[
        "empty",
        "root",
        "absolute",
        "dotdot",
        "deep-dotdot",
        "backslash",
        "url",
        "scheme",
        "nl",
        "leading-dot",
        "inner-dot",
    ],
)
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        check_relative_key(key)
    assert info.value.code == "invalid_object_key"


def test_the_source_is_the_folder_holding_the_file() -> None:
    assert source_of("v2/trailco/a.csv") == "trailco"
    assert source_of("trailco/a.csv") == "trailco"
    for key in ("a.csv", "v2/Trail Co/a.csv"):
        with pytest.raises(InvalidRequestError) as info:
            source_of(key)
        assert info.value.code == "invalid_source"


def test_event_keys_are_made_relative_to_the_landing_prefix() -> None:
    plan = plan_intake(parse_body(_r2("v2/trailco/a.csv")), PREFIXED_ROOT)
    assert plan.targets == (IngestTarget("trailco", "trailco/a.csv", "r2-event"),)
    plan = plan_intake(parse_body(_r2("v2/trailco/a.csv")), BUCKET_ROOT)
    assert plan.targets == (IngestTarget("trailco", "v2/trailco/a.csv", "r2-event"),)


def test_s3_records_are_decoded_deduplicated_and_filtered() -> None:
    def record(name: str, key: str) -> dict[str, Any]:
        return {
            "eventName": name,
            "s3": {"bucket": {"name": "packrat-scrapy-bucket"}, "object": {"key": key}},
        }

    body = parse_body(
        {
            "Records": [
                record("ObjectCreated:Put", "v2/trailco/a+b%2B.csv"),
                record("ObjectCreated:CompleteMultipartUpload", "v2/trailco/a+b%2B.csv"),
                record("ObjectRemoved:Delete", "v2/trailco/old.csv"),
            ]
        }
    )
    plan = plan_intake(body, BUCKET_ROOT)
    assert [t.key for t in plan.targets] == ["v2/trailco/a b+.csv"]
    assert plan.ignored == 1


def test_events_need_an_s3_landing_root() -> None:
    with pytest.raises(InvalidRequestError) as info:
        plan_intake(parse_body(_r2("v2/trailco/a.csv")), LandingRoot.from_uri("file:///srv/in"))
    assert info.value.code == "unsupported_event"


def test_ignored_events_need_no_s3_landing_root() -> None:
    local = LandingRoot.from_uri("file:///srv/in")
    plan = plan_intake(parse_body(_r2("v2/trailco/a.csv", action="DeleteObject")), local)
    assert (plan.targets, plan.ignored) == ((), 1)


def test_scraper_body_is_strict() -> None:
    ok = parse_body({"source": "trailco", "scraperRevision": "r", "object_key": "a/b.csv"})
    assert plan_intake(ok, BUCKET_ROOT).targets == (IngestTarget("trailco", "a/b.csv", "r"),)
    for bad in (
        {"source": "trailco", "scraperRevision": "r", "objectKeys": [1]},
        {"source": "trailco", "scraperRevision": " ", "objectKeys": ["a"]},
        {"source": "trailco", "scraperRevision": "r", "objectKeys": []},
        {"source": "trailco", "scraperRevision": "r"},
        {"source": "trailco", "scraper_revision": "r", "objectKeys": ["a"]},
    ):
        with pytest.raises(ValidationError):
            parse_body(bad)
