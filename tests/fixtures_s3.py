"""Pytest plugin: an in-process moto S3 API server on loopback and a fresh bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
import requests

from catalog_lib.adapters.storage import StorageConfig

ACCESS_KEY_ID = "testing-access-key"
SECRET_ACCESS_KEY = "testing-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    """A running moto S3 server reachable only on 127.0.0.1."""

    endpoint_url: str

    def client(self) -> object:
        """Return a boto3 S3 client for this server with the dummy credentials."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def set_auth_enforced(self, enforced: bool) -> None:
        """Turn moto's credential checks on (unknown keys get 403) or off (the default)."""
        count = "0" if enforced else "inf"
        resp = requests.post(f"{self.endpoint_url}/moto-api/reset-auth", data=count, timeout=5)
        resp.raise_for_status()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """Run moto's server mode on a free loopback port for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point any default AWS credential lookup at dummy values, never at real accounts."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


@pytest.fixture
def s3_bucket(s3_server: S3Server, s3_env: None) -> StorageConfig:
    """Create a fresh uniquely named bucket and return a config for s3://<bucket>/landing."""
    bucket = f"test-{uuid.uuid4().hex[:20]}"
    s3_server.client().create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    return StorageConfig(
        landing_url=f"s3://{bucket}/landing",
        s3_endpoint_url=s3_server.endpoint_url,
        s3_region=REGION,
        s3_access_key_id=ACCESS_KEY_ID,
        s3_secret_access_key=SECRET_ACCESS_KEY,
        s3_connect_timeout=2.0,
        s3_read_timeout=10.0,
        s3_max_attempts=2,
    )
