"""The landing folder is a jail; S3 keys are never normalised; errors hide the landing path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from catalog_lib.adapters.storage import LocalStore, StorageConfig, open_store
from catalog_lib.core.errors import (
    InvalidObjectKeyError,
    ObjectNotFoundError,
    ObjectOutsideLandingError,
)
from tests.fixtures_s3 import S3Server

SECRET = b"root:x:0:0:secret outside the landing folder\n"
DATA = b"sku,name\nSKU-1,one\n"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    (root / "v2" / "trailco").mkdir(parents=True)
    (root / "v2" / "trailco" / "real.csv").write_bytes(DATA)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.csv").write_bytes(SECRET)
    return root


def _store(landing: Path) -> Any:
    return open_store(StorageConfig(landing_url=str(landing)))


def _refused_everywhere(store: Any, key: str) -> ObjectOutsideLandingError:
    for attempt in (
        lambda: store.resolve(key),
        lambda: store.head(key),
        lambda: store.read_range(key, 0, 10),
        lambda: list(store.iter_bytes(key)),
        lambda: store.filesystem(key),
    ):
        with pytest.raises(ObjectOutsideLandingError) as info:
            attempt()
    assert info.value.kind == "object_outside_landing"
    return info.value


def test_symlink_to_etc_passwd_is_refused(landing: Path) -> None:
    (landing / "v2" / "trailco" / "passwd.csv").symlink_to("/etc/passwd")
    error = _refused_everywhere(_store(landing), "v2/trailco/passwd.csv")
    assert "/etc/passwd" not in str(error)
    assert str(landing) not in str(error)


def test_symlinked_file_pointing_outside_is_refused(landing: Path, tmp_path: Path) -> None:
    (landing / "v2" / "trailco" / "b.csv").symlink_to(tmp_path / "outside" / "secret.csv")
    _refused_everywhere(_store(landing), "v2/trailco/b.csv")


def test_symlinked_folder_pointing_outside_is_refused(landing: Path, tmp_path: Path) -> None:
    (landing / "v2" / "evil").symlink_to(tmp_path / "outside", target_is_directory=True)
    store = _store(landing)
    _refused_everywhere(store, "v2/evil/secret.csv")
    # The same file named by an absolute path inside the landing folder is refused as well.
    _refused_everywhere(store, str(landing / "v2" / "evil" / "secret.csv"))
    _refused_everywhere(store, f"file://{landing}/v2/evil/secret.csv")


@pytest.mark.parametrize("key", ["../outside/secret.csv", "v2/../../outside/secret.csv", "a/.."])
def test_dotdot_segments_are_refused(landing: Path, key: str) -> None:
    _refused_everywhere(_store(landing), key)


def test_symlink_inside_the_landing_folder_is_followed_to_its_target(landing: Path) -> None:
    (landing / "v2" / "trailco" / "latest.csv").symlink_to("real.csv")
    store = _store(landing)
    version = store.head("v2/trailco/latest.csv")
    # Known by its real path: the job's identity is the file that is actually read.
    assert version.uri == f"{store.root_uri}/v2/trailco/real.csv"
    assert store.read_range("v2/trailco/latest.csv", 0, 100, expected=version) == DATA


def test_listing_skips_symlinks(landing: Path, tmp_path: Path) -> None:
    (landing / "v2" / "trailco" / "latest.csv").symlink_to("real.csv")
    (landing / "v2" / "trailco" / "passwd.csv").symlink_to("/etc/passwd")
    (landing / "v2" / "evil").symlink_to(tmp_path / "outside", target_is_directory=True)
    store = _store(landing)
    assert [v.uri.removeprefix(store.root_uri + "/") for v in store.list()] == [
        "v2/trailco/real.csv"
    ]


def test_a_link_swapped_in_after_the_check_is_refused_by_the_open(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(str(landing))
    canonical = store.resolve("v2/trailco/real.csv")
    # The check passed; now the folder is replaced by a link out of the landing folder.
    (landing / "v2" / "trailco" / "real.csv").unlink()
    (landing / "v2" / "trailco").rmdir()
    (tmp_path / "outside" / "real.csv").write_bytes(SECRET)
    (landing / "v2" / "trailco").symlink_to(tmp_path / "outside", target_is_directory=True)
    monkeypatch.setattr(
        LocalStore,
        "_jailed",
        lambda self, relative, shown: f"{landing}/{relative}",  # noqa: ARG005
    )
    with pytest.raises(ObjectOutsideLandingError):
        store.head(canonical)
    with pytest.raises(ObjectOutsideLandingError):
        store.read_range(canonical, 0, 10)
    # The final component swapped for a link is refused too.
    (landing / "v2" / "trailco").unlink()
    (landing / "v2" / "trailco").mkdir()
    (landing / "v2" / "trailco" / "real.csv").symlink_to(tmp_path / "outside" / "secret.csv")
    with pytest.raises(ObjectOutsideLandingError):
        list(store.iter_bytes(canonical))


def test_a_fifo_in_the_landing_folder_is_not_an_object(landing: Path) -> None:
    os.mkfifo(landing / "v2" / "trailco" / "pipe.csv")
    with pytest.raises(ObjectNotFoundError):
        _store(landing).head("v2/trailco/pipe.csv")  # returns at once, does not block


def test_errors_name_the_landing_relative_key_not_the_landing_path(landing: Path) -> None:
    store = _store(landing)
    with pytest.raises(ObjectNotFoundError) as info:
        store.head("v2/trailco/missing.csv")
    assert info.value.fields["object_key"] == "v2/trailco/missing.csv"
    assert str(landing) not in str(info.value)
    with pytest.raises(ObjectNotFoundError) as info:
        store.head(f"{store.root_uri}/v2/trailco/missing.csv")
    assert str(landing) not in str(info.value)


def test_paths_outside_the_landing_folder_stay_readable_when_named_explicitly(
    landing: Path, tmp_path: Path
) -> None:
    # An operator's `catalog-etl ingest /some/file.csv` is not a landing key: no jail.
    store = _store(landing)
    path = tmp_path / "outside" / "secret.csv"
    assert store.head(str(path)).size == len(SECRET)


@pytest.mark.s3
def test_s3_keys_are_not_normalised(s3_bucket: StorageConfig, s3_server: S3Server) -> None:
    bucket = s3_bucket.landing_url.removeprefix("s3://").split("/", 1)[0]
    client: Any = s3_server.client()
    client.put_object(Bucket=bucket, Key="landing/v2//a.csv", Body=b"double slash\n")
    client.put_object(Bucket=bucket, Key="landing/v2/a.csv", Body=b"single slash, longer\n")
    store = open_store(s3_bucket)
    version = store.head("v2//a.csv")
    assert version.uri == f"s3://{bucket}/landing/v2//a.csv"
    assert version.size == len(b"double slash\n")
    assert b"".join(store.iter_bytes("v2//a.csv", expected=version)) == b"double slash\n"
    assert store.head(version.uri) == version
    assert store.head("v2/a.csv").size == len(b"single slash, longer\n")
    assert [v.uri for v in store.list("v2//")] == [version.uri]


@pytest.mark.s3
@pytest.mark.parametrize("key", ["./a.csv", "v2/./a.csv"])
def test_s3_dot_segments_are_refused(s3_bucket: StorageConfig, key: str) -> None:
    with pytest.raises(InvalidObjectKeyError):
        open_store(s3_bucket).resolve(key)


@pytest.mark.s3
def test_s3_errors_name_the_landing_relative_key(s3_bucket: StorageConfig) -> None:
    with pytest.raises(ObjectNotFoundError) as info:
        open_store(s3_bucket).head("v2//missing.csv")
    assert info.value.fields["object_key"] == "v2//missing.csv"
