"""Trigger requests from outside (webhook bodies, S3 / R2 event notifications) → ingest targets.

Validation only: this module takes parsed JSON and the landing root's URI and returns which
landing-relative keys to ingest for which source. It touches no storage, database or network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Annotated, Any
from urllib.parse import unquote_plus

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from catalog_lib.core.errors import InvalidRequestError

MAX_KEYS = 100
MAX_KEY_LENGTH = 1024  # S3's own limit on key length, in bytes of UTF-8
S3_EVENT_REVISION = "s3-event"
R2_EVENT_REVISION = "r2-event"
R2_CREATE_ACTIONS = frozenset({"PutObject", "CopyObject", "CompleteMultipartUpload"})

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

ObjectKey = Annotated[str, StringConstraints(min_length=1, max_length=MAX_KEY_LENGTH)]


class IngestBody(BaseModel):
    """The scraper's own trigger: `{source, scraperRevision, objectKeys[] | object_key}`."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)

    source: str = Field(description="Scraper/brand slug: 1-64 of a-z 0-9 _ . - .")
    scraper_revision: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        alias="scraperRevision", description="Revision of the scraper that wrote the files."
    )
    object_keys: list[ObjectKey] | None = Field(
        default=None,
        alias="objectKeys",
        min_length=1,
        max_length=MAX_KEYS,
        description="Keys relative to CATALOG_LANDING_URL, one job each.",
    )
    object_key: ObjectKey | None = Field(
        default=None, description="A single key (instead of `objectKeys`)."
    )
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        default=None, description="Optional; when given it must be the last segment of each key."
    )

    @field_validator("source")
    @classmethod
    def _check_source(cls, value: str) -> str:
        return validate_source(value)

    # pydantic validators must raise ValueError (rendered as a 422 validation error).
    @field_validator("scraper_revision")
    @classmethod
    def _check_revision(cls, value: str) -> str:
        if not value.strip() or _CONTROL.search(value):
            raise ValueError("scraperRevision must be non-blank text without control characters")
        return value

    @model_validator(mode="after")
    def _one_key_field(self) -> IngestBody:
        if (self.object_keys is None) == (self.object_key is None):
            raise ValueError("give exactly one of objectKeys or object_key")
        return self

    def requested_keys(self) -> list[str]:
        """The requested keys in order, without repeats."""
        keys = self.object_keys if self.object_keys is not None else [str(self.object_key)]
        return list(dict.fromkeys(keys))


class _S3Bucket(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1)


class _S3Object(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: ObjectKey


class _S3Entity(BaseModel):
    model_config = ConfigDict(extra="ignore")
    bucket: _S3Bucket
    obj: _S3Object = Field(alias="object")


class _S3Record(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event_name: str = Field(alias="eventName")
    s3: _S3Entity


class S3Event(BaseModel):
    """An AWS S3 event notification (`{"Records": [...]}`; other fields are ignored)."""

    model_config = ConfigDict(extra="ignore")
    records: list[_S3Record] = Field(alias="Records", min_length=1, max_length=MAX_KEYS)


class _R2Object(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: ObjectKey


class R2Event(BaseModel):
    """A Cloudflare R2 event notification message (as delivered to a queue consumer)."""

    model_config = ConfigDict(extra="ignore")
    account: str
    bucket: str = Field(min_length=1)
    obj: _R2Object = Field(alias="object")
    action: str
    event_time: str | None = Field(default=None, alias="eventTime")


TriggerBody = IngestBody | S3Event | R2Event


@dataclass(frozen=True)
class LandingRoot:
    """The landing area as the intake sees it: an S3 bucket + prefix, or a local folder."""

    uri: str
    bucket: str | None
    prefix: str

    @classmethod
    def from_uri(cls, root_uri: str) -> LandingRoot:
        """Parse a canonical landing root URI (`s3://bucket[/prefix]` or `file:///path`)."""
        if root_uri.startswith("s3://"):
            bucket, _, prefix = root_uri[len("s3://") :].partition("/")
            return cls(uri=root_uri, bucket=bucket, prefix=prefix.strip("/"))
        return cls(uri=root_uri, bucket=None, prefix="")


@dataclass(frozen=True)
class IngestTarget:
    """One object to ingest: a landing-relative key, its source and the scraper revision."""

    source: str
    key: str
    scraper_revision: str


@dataclass(frozen=True)
class Intake:
    """What a trigger request asks for: targets to ingest, and events that were not for us."""

    targets: tuple[IngestTarget, ...]
    ignored: int


def parse_body(data: Any) -> TriggerBody:
    """Validate parsed JSON as one of the accepted shapes (raises pydantic's ValidationError)."""
    if not isinstance(data, dict):
        raise InvalidRequestError("the body must be a JSON object", code="invalid_body")
    if "Records" in data:
        return S3Event.model_validate(data)
    if "action" in data and "bucket" in data and "object" in data:
        return R2Event.model_validate(data)
    return IngestBody.model_validate(data)


def plan_intake(body: TriggerBody, landing: LandingRoot) -> Intake:
    """Turn a validated body into ingest targets (keys relative to the landing root).

    Raises:
        InvalidRequestError: a key is not acceptable, an event names another bucket or a
            key outside the landing prefix, or the source cannot be derived from a key.
    """
    if isinstance(body, IngestBody):
        targets = []
        for key in body.requested_keys():
            clean = check_relative_key(key)
            if body.filename is not None and PurePosixPath(clean).name != body.filename:
                raise InvalidRequestError(
                    "filename is not the last segment of the object key",
                    code="filename_mismatch",
                    object_key=key,
                )
            targets.append(IngestTarget(body.source, clean, body.scraper_revision))
        return Intake(targets=tuple(targets), ignored=0)
    if isinstance(body, S3Event):
        events = [
            (r.s3.bucket.name, unquote_plus(r.s3.obj.key), r.event_name.startswith("ObjectCreated"))
            for r in body.records
        ]
        return _plan_events(events, landing, S3_EVENT_REVISION)
    created = body.action in R2_CREATE_ACTIONS
    return _plan_events([(body.bucket, body.obj.key, created)], landing, R2_EVENT_REVISION)


def _plan_events(
    events: list[tuple[str, str, bool]], landing: LandingRoot, revision: str
) -> Intake:
    created = [(bucket, key) for bucket, key, is_created in events if is_created]
    if created and landing.bucket is None:
        raise InvalidRequestError(
            "storage events need an s3:// CATALOG_LANDING_URL; this receiver reads a local folder",
            code="unsupported_event",
        )
    targets: dict[str, IngestTarget] = {}
    for bucket, key in created:
        if bucket != landing.bucket:
            raise InvalidRequestError(
                "the event's bucket is not the landing bucket", code="bucket_mismatch"
            )
        relative = _strip_prefix(key, landing.prefix)
        targets.setdefault(relative, IngestTarget(source_of(relative), relative, revision))
    return Intake(targets=tuple(targets.values()), ignored=len(events) - len(created))


def _strip_prefix(bucket_key: str, prefix: str) -> str:
    if prefix:
        if not bucket_key.startswith(prefix + "/"):
            raise InvalidRequestError(
                "the object is outside the landing prefix",
                code="key_outside_landing",
                object_key=bucket_key,
            )
        bucket_key = bucket_key[len(prefix) + 1 :]
    return check_relative_key(bucket_key)


def source_of(key: str) -> str:
    """The source slug of a key by the upstream convention `…/{source}/{filename}`.

    The folder that directly contains the file names the source (`v2/trailco/a.csv` →
    `trailco`).
    """
    parts = key.split("/")
    if len(parts) < 2:
        raise InvalidRequestError(
            "the key has no source folder (expected …/{source}/{filename})",
            code="invalid_source",
            object_key=key,
        )
    try:
        return validate_source(parts[-2])
    except ValueError as exc:
        raise InvalidRequestError(str(exc), code="invalid_source", object_key=key) from exc


def check_relative_key(key: str) -> str:
    """Return a key relative to the landing root, verbatim (never normalised).

    `v2//a.csv` and `v2/a.csv` are different S3 objects, so empty segments are kept. `.` and
    `..` segments are refused: HTTP layers may rewrite them, reaching another object.

    Raises:
        InvalidRequestError: (`invalid_object_key`) for absolute paths, URL schemes,
            backslashes, control characters, `.` or `..` segments or an empty key.
    """
    problem = None
    segments = key.split("/")
    if _CONTROL.search(key):
        problem = "control characters"
    elif key.startswith("/"):
        problem = "an absolute path"
    elif "\\" in key:
        problem = "a backslash"
    elif _SCHEME.match(key) or "://" in key:
        problem = "a URL scheme"
    elif ".." in segments:
        problem = "a '..' segment"
    elif "." in segments:
        problem = "a '.' segment"
    elif not any(segments):
        problem = "no path"
    if problem is not None:
        raise InvalidRequestError(
            f"object keys are relative to the landing root; this one has {problem}",
            code="invalid_object_key",
            object_key=key[:MAX_KEY_LENGTH],
        )
    return key


SOURCE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def validate_source(source: str) -> str:
    """Return the source slug if it is well formed (lowercase letters, digits, `_.-`).

    Raises ValueError on purpose: it runs inside pydantic field validators (`IngestBody`),
    which turn only ValueError into a validation error; other callers wrap it
    (`source_of_key` as InvalidRequestError, the CLI as a usage error).
    """
    if not SOURCE_PATTERN.fullmatch(source):
        raise ValueError(
            f"invalid source {source!r}: use 1-64 lowercase letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return source
