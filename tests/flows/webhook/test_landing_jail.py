"""The webhook and `catalog-etl ingest` refuse landing keys that lead out of the landing folder."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from catalog_lib.adapters.postgres import connect
from catalog_lib.core.settings import Settings
from catalog_lib.rules.signing import sign
from flows.cli.app import app as cli_app
from flows.webhook.app import create_app
from tests.factories import catalog_row, to_csv

pytestmark = [pytest.mark.flow, pytest.mark.postgres]

SECRET = "landing-jail-webhook-secret-0123456789"


@pytest.fixture
def client(flow_env: Path) -> Iterator[TestClient]:
    """The webhook on the local landing folder; refusals happen before Prefect is reached."""
    settings = Settings(webhook_secret=SecretStr(SECRET))
    app = create_app(settings=settings, prefect_api_url="http://127.0.0.1:9/api")
    with TestClient(app) as test_client:
        yield test_client


def _post(client: TestClient, *keys: str) -> Any:
    body = json.dumps(
        {"source": "trailco", "scraperRevision": "abc123", "objectKeys": list(keys)}
    ).encode()
    headers = sign(body, SECRET, int(time.time())) | {"Content-Type": "application/json"}
    return client.post("/v1/ingest", content=body, headers=headers)


def _job_count(db_url: str) -> int:
    with connect(db_url) as conn:
        row = conn.execute("SELECT count(*) AS n FROM etl_jobs").fetchone()
    assert row is not None
    return int(row["n"])


def _outside_file(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.csv").write_bytes(to_csv([catalog_row(i) for i in range(3)]))
    return outside


def test_symlink_to_etc_passwd_gets_422_and_no_job(
    client: TestClient, flow_env: Path, db_url: str
) -> None:
    (flow_env / "v2" / "trailco").mkdir(parents=True)
    (flow_env / "v2" / "trailco" / "passwd.csv").symlink_to("/etc/passwd")
    response = _post(client, "v2/trailco/passwd.csv")
    assert (response.status_code, response.json()["error"]) == (422, "object_outside_landing")
    assert str(flow_env) not in response.text
    assert "/etc/passwd" not in response.text
    assert _job_count(db_url) == 0


def test_symlinked_folder_out_of_the_landing_gets_422(
    client: TestClient, flow_env: Path, db_url: str, tmp_path: Path
) -> None:
    (flow_env / "v2").mkdir()
    (flow_env / "v2" / "trailco").symlink_to(_outside_file(tmp_path), target_is_directory=True)
    response = _post(client, "v2/trailco/a.csv")
    assert (response.status_code, response.json()["error"]) == (422, "object_outside_landing")
    assert _job_count(db_url) == 0


def test_missing_object_422_does_not_reveal_the_landing_path(
    client: TestClient, flow_env: Path
) -> None:
    response = _post(client, "v2/trailco/missing.csv")
    assert (response.status_code, response.json()["error"]) == (422, "object_not_found")
    assert "v2/trailco/missing.csv" in response.json()["message"]
    assert str(flow_env) not in response.text


def test_cli_refuses_a_landing_key_that_links_outside(
    flow_env: Path, db_url: str, tmp_path: Path
) -> None:
    (flow_env / "v2").mkdir()
    (flow_env / "v2" / "trailco").symlink_to(_outside_file(tmp_path), target_is_directory=True)
    result = CliRunner().invoke(cli_app, ["ingest", "trailco", "v2/trailco/a.csv", "--json"])
    assert result.exit_code != 0
    document = json.loads(result.stdout)
    assert document["error_kind"] == "object_outside_landing"
    assert _job_count(db_url) == 0
