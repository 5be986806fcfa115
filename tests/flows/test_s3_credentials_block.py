"""S3 credentials from a prefect-aws block: `blocks register`, precedence, a real ingest."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from catalog_lib.adapters.storage import StorageConfig
from catalog_lib.core.errors import ConfigurationError, StorageAccessError
from catalog_lib.core.settings import Settings, get_settings
from catalog_lib.ingest import steps
from flows import ingest as ingest_module
from flows.cli.app import app
from flows.runtime import get_runtime, storage_config
from flows.s3_blocks import load_s3_credentials
from tests.factories import catalog_row, job_row, to_csv
from tests.fixtures_s3 import ACCESS_KEY_ID, SECRET_ACCESS_KEY, S3Server

pytestmark = [pytest.mark.flow, pytest.mark.postgres]


def _cli(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, list(args))
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.exit_code, result.stdout


def _reload() -> None:
    get_settings.cache_clear()
    get_runtime.cache_clear()


def _env_credentials(monkeypatch: pytest.MonkeyPatch, bucket: StorageConfig) -> None:
    monkeypatch.setenv("CATALOG_LANDING_URL", bucket.landing_url)
    monkeypatch.setenv("CATALOG_S3_ENDPOINT_URL", str(bucket.s3_endpoint_url))
    monkeypatch.setenv("CATALOG_S3_REGION", str(bucket.s3_region))
    monkeypatch.setenv("CATALOG_S3_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("CATALOG_S3_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    _reload()


def _forget_env_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere but in Prefect: not CATALOG_S3_*, not AWS_*, no AWS files."""
    for var in (
        "CATALOG_S3_ACCESS_KEY_ID",
        "CATALOG_S3_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    _reload()


@pytest.mark.s3
def test_ingest_reads_moto_with_credentials_that_exist_only_in_a_block(
    flow_env: Path,
    s3_bucket: StorageConfig,
    s3_server: S3Server,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    name = f"moto-{uuid.uuid4().hex[:8]}"
    _env_credentials(monkeypatch, s3_bucket)
    code, doc = _cli("blocks", "register", "--name", name, "--json")
    assert code == 0, doc
    assert doc["block"] == f"aws-credentials/{name}"
    assert SECRET_ACCESS_KEY not in json.dumps(doc)

    bucket = s3_bucket.landing_url.removeprefix("s3://").split("/", 1)[0]
    client: Any = s3_server.client()
    client.put_object(
        Bucket=bucket,
        Key="landing/v2/trailco/a.csv",
        Body=to_csv([catalog_row(i) for i in range(25)]),
    )
    _forget_env_credentials(monkeypatch, tmp_path)
    # The control: without the block, nothing in this process can read the bucket.
    with pytest.raises(StorageAccessError):
        get_runtime().store.head("v2/trailco/a.csv")

    # Now the endpoint as well as the credentials come from the block only.
    monkeypatch.delenv("CATALOG_S3_ENDPOINT_URL")
    monkeypatch.setenv("CATALOG_S3_CREDENTIALS_BLOCK", doc["block"])
    _reload()
    rt = get_runtime()
    trigger = steps.request_ingest(
        rt, source="trailco", uri_or_key="v2/trailco/a.csv", scraper_revision="t"
    )
    state = ingest_module.configured_flow()(
        job_id=str(trigger.job_id), label="block", return_state=True
    )
    assert state.is_completed(), state.message
    job = job_row(rt.database_url, trigger.job_id)
    assert job["object_key"] == f"s3://{bucket}/landing/v2/trailco/a.csv"
    assert (job["status"], job["total_processed"], job["reconcile_delta"]) == ("completed", 25, 0)


def test_a_block_that_does_not_exist_is_a_clear_configuration_error(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALOG_S3_CREDENTIALS_BLOCK", "aws-credentials/no-such-block")
    _reload()
    with pytest.raises(ConfigurationError) as info:
        storage_config(get_settings())
    assert "no-such-block" in str(info.value)
    assert "catalog-etl blocks register" in str(info.value)
    code, doc = _cli("ingest", "trailco", "v2/trailco/a.csv", "--json")
    assert (code, doc["error"]) == (2, "configuration"), doc


def test_a_bare_name_is_looked_up_as_both_block_types(flow_env: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_s3_credentials(f"missing-{uuid.uuid4().hex[:8]}")
    assert "AwsCredentials or MinIOCredentials" in str(info.value)


def test_block_and_env_credentials_together_are_refused() -> None:
    settings = Settings(
        landing_url="s3://bucket/landing",
        s3_credentials_block="aws-credentials/anything",
        s3_access_key_id=SecretStr("env-key"),
    )
    with pytest.raises(ConfigurationError) as info:
        storage_config(settings)
    assert "both set" in str(info.value)
    assert "env-key" not in str(info.value)


def test_minio_block_round_trip_keeps_the_secret_secret(
    flow_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"minio-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("CATALOG_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("CATALOG_S3_ACCESS_KEY_ID", "minio-user")
    monkeypatch.setenv("CATALOG_S3_SECRET_ACCESS_KEY", "minio-password")
    _reload()
    code, doc = _cli("blocks", "register", "--name", name, "--kind", "minio", "--json")
    assert (code, doc["block"]) == (0, f"minio-credentials/{name}")
    from prefect_aws import MinIOCredentials

    stored: Any = MinIOCredentials.load(name, _sync=True)
    assert isinstance(stored.minio_root_password, SecretStr)
    loaded = load_s3_credentials(name)  # a bare name: found as minio-credentials only
    assert (loaded.access_key_id, loaded.secret_access_key) == ("minio-user", "minio-password")
    assert loaded.endpoint_url == "http://127.0.0.1:9000"
    assert "minio-password" not in repr(loaded)
    # Registering the same name again needs --overwrite.
    code, doc = _cli("blocks", "register", "--name", name, "--kind", "minio", "--json")
    assert (code, doc["error"]) == (2, "configuration"), doc
    # A block endpoint and a different CATALOG_S3_ENDPOINT_URL are refused, not mixed.
    monkeypatch.delenv("CATALOG_S3_ACCESS_KEY_ID")
    monkeypatch.delenv("CATALOG_S3_SECRET_ACCESS_KEY")
    monkeypatch.setenv("CATALOG_S3_ENDPOINT_URL", "http://127.0.0.1:9001")
    monkeypatch.setenv("CATALOG_S3_CREDENTIALS_BLOCK", f"minio-credentials/{name}")
    _reload()
    with pytest.raises(ConfigurationError) as info:
        storage_config(get_settings())
    assert "disagree" in str(info.value)


def test_register_without_env_credentials_is_refused(flow_env: Path) -> None:
    code, doc = _cli("blocks", "register", "--name", "unused", "--json")
    assert (code, doc["error"]) == (2, "configuration"), doc
