"""Tests for the object storage adapter on a local folder and on a moto S3 server."""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.storage import ObjectStore, StorageConfig, open_store
from catalog_lib.core.errors import (
    InvalidObjectKeyError,
    ObjectNotFoundError,
    SourceChangedError,
    StorageAccessError,
    StorageError,
)
from tests.fixtures_s3 import S3Server

DATA = b"sku,name\n" + b"".join(b"SKU-%d,item %d\n" % (i, i) for i in range(200))


@pytest.fixture
def local_config(tmp_path: Path) -> StorageConfig:
    return StorageConfig(landing_url=str(tmp_path / "landing"))


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return open_store(StorageConfig(landing_url=str(tmp_path / "landing")))
    return open_store(request.getfixturevalue("s3_bucket"))


def test_head_reports_size_and_stable_etag(store: ObjectStore) -> None:
    written = store.write("in/a.csv", DATA)
    head = store.head("in/a.csv")
    assert head == written
    assert head.size == len(DATA)
    assert head.last_modified.tzinfo is not None
    assert store.head(head.uri).etag == head.etag
    changed = store.write("in/a.csv", DATA + b"SKU-x,extra\n")
    assert changed.etag != head.etag


def test_local_etag_is_sha256_of_content(local_config: StorageConfig) -> None:
    store = open_store(local_config)
    version = store.write("a.csv", DATA)
    assert version.etag == "sha256:" + hashlib.sha256(DATA).hexdigest()
    assert version.uri == "file://" + os.path.abspath(Path(local_config.landing_url) / "a.csv")


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 0), (len(DATA) - 1, len(DATA) - 1), (10, 99), (0, len(DATA) - 1), (5, 10_000)],
    ids=["first_byte", "last_byte", "middle", "whole", "past_end_clipped"],
)
def test_read_range_is_inclusive(store: ObjectStore, start: int, end: int) -> None:
    version = store.write("r.csv", DATA)
    assert store.read_range("r.csv", start, end, expected=version) == DATA[start : end + 1]


def test_read_range_starting_past_end_is_empty(store: ObjectStore) -> None:
    store.write("r.csv", DATA)
    assert store.read_range("r.csv", len(DATA) + 5, len(DATA) + 10) == b""


@pytest.mark.parametrize("block_size", [1000, 97, len(DATA)])
def test_iter_bytes_streams_whole_object(store: ObjectStore, block_size: int) -> None:
    version = store.write("it.csv", DATA)
    blocks = list(store.iter_bytes("it.csv", block_size=block_size, expected=version))
    assert b"".join(blocks) == DATA
    assert all(len(b) <= block_size for b in blocks)


def test_list_is_recursive_sorted_and_prefixed(store: ObjectStore) -> None:
    for key in ["b/2.csv", "a.csv", "b/1.csv", "c/deep/3.csv"]:
        store.write(key, key.encode())
    uris = [v.uri for v in store.list()]
    assert uris == sorted(uris)
    assert [u.removeprefix(store.root_uri + "/") for u in uris] == [
        "a.csv",
        "b/1.csv",
        "b/2.csv",
        "c/deep/3.csv",
    ]
    assert [v.uri.rsplit("/", 1)[1] for v in store.list("b/")] == ["1.csv", "2.csv"]
    assert store.list("zzz") == []


def test_missing_object_is_terminal_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError) as info:
        store.head("missing.csv")
    assert "missing.csv" in str(info.value)
    with pytest.raises(ObjectNotFoundError):
        store.read_range("missing.csv", 0, 10)
    with pytest.raises(ObjectNotFoundError):
        list(store.iter_bytes("missing.csv"))


def test_overwrite_between_head_and_read_is_detected(store: ObjectStore) -> None:
    version = store.write("o.csv", DATA)
    store.write("o.csv", DATA.replace(b"item", b"ITEM"))
    with pytest.raises(SourceChangedError):
        store.read_range("o.csv", 0, 10, expected=version)
    with pytest.raises(SourceChangedError):
        list(store.iter_bytes("o.csv", expected=version))


@pytest.mark.parametrize("key", ["../x.csv", "a/../../x.csv", "a/..", "", "a\\b.csv"])
def test_keys_cannot_escape_landing_root(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidObjectKeyError):
        store.resolve(key)


def test_absolute_key_is_rejected_on_s3_but_a_path_locally(
    local_config: StorageConfig, tmp_path: Path
) -> None:
    store = open_store(local_config)
    assert store.resolve(str(tmp_path / "x.csv")) == f"file://{tmp_path}/x.csv"
    s3 = open_store(StorageConfig(landing_url="s3://bucket/landing"))
    with pytest.raises(InvalidObjectKeyError):
        s3.resolve("/etc/passwd")
    with pytest.raises(InvalidObjectKeyError):
        s3.write("s3://other-bucket/x.csv", b"x")


def test_resolve_forms(local_config: StorageConfig) -> None:
    store = open_store(local_config)
    root = store.root_uri
    assert store.resolve("./a//b.csv") == f"{root}/a/b.csv"
    assert store.resolve(f"{root}/a.csv") == f"{root}/a.csv"
    assert store.resolve("s3://bkt/k/x.csv") == "s3://bkt/k/x.csv"
    s3 = open_store(StorageConfig(landing_url="s3://bkt/pre/"))
    assert s3.root_uri == "s3://bkt/pre"
    assert s3.resolve("d/x.csv") == "s3://bkt/pre/d/x.csv"


def test_filesystem_returns_fs_specific_path(store: ObjectStore) -> None:
    version = store.write("f.csv", DATA)
    fs, path = store.filesystem(version.uri)
    with fs.open(path, "rb") as fh:
        assert fh.read() == DATA


def test_config_repr_hides_secret() -> None:
    config = StorageConfig(landing_url="s3://b/x", s3_secret_access_key="very-secret")
    assert "very-secret" not in repr(config)


@pytest.mark.s3
def test_s3_etag_matches_boto3(s3_bucket: StorageConfig, s3_server: S3Server) -> None:
    store = open_store(s3_bucket)
    version = store.write("e.csv", DATA)
    bucket, key = version.uri.removeprefix("s3://").split("/", 1)
    client: Any = s3_server.client()
    assert client.head_object(Bucket=bucket, Key=key)["ETag"].strip('"') == version.etag


@pytest.mark.s3
def test_s3_multipart_etag(s3_bucket: StorageConfig, s3_server: S3Server) -> None:
    store = open_store(s3_bucket)
    bucket = s3_bucket.landing_url.removeprefix("s3://").split("/", 1)[0]
    key = "landing/multi.csv"
    part = b"x" * (5 * 1024 * 1024)  # S3's minimum part size for all but the last part
    client: Any = s3_server.client()
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)
    parts = []
    for number, body in enumerate([part, b"tail\n"], start=1):
        resp = client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=body
        )
        parts.append({"ETag": resp["ETag"], "PartNumber": number})
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    version = store.head("multi.csv")
    assert version.etag.endswith("-2")
    assert version.etag == client.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    assert version.size == len(part) + 5
    assert store.read_range("multi.csv", len(part), len(part) + 4, expected=version) == b"tail\n"


@pytest.mark.s3
def test_s3_wrong_credentials_is_access_error(
    s3_bucket: StorageConfig, s3_server: S3Server
) -> None:
    bad = replace(s3_bucket, s3_access_key_id="AKIAWRONGWRONGWRONG0", s3_secret_access_key="nope")
    s3_server.set_auth_enforced(True)
    try:
        with pytest.raises(StorageAccessError) as info:
            open_store(bad).head("x.csv")
    finally:
        s3_server.set_auth_enforced(False)
    assert "nope" not in str(info.value)
    assert "AKIAWRONG" not in str(info.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.s3
def test_unreachable_endpoint_is_transient(s3_env: None) -> None:
    config = StorageConfig(
        landing_url="s3://bucket/landing",
        s3_endpoint_url=f"http://127.0.0.1:{_closed_port()}",
        s3_region="us-east-1",
        s3_access_key_id="k",
        s3_secret_access_key="s",
        s3_connect_timeout=0.5,
        s3_read_timeout=0.5,
        s3_max_attempts=1,
    )
    with pytest.raises(StorageError) as info:
        open_store(config).head("x.csv")
    assert info.value.kind == "storage_unavailable"
