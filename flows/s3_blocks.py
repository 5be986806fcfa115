"""Object-storage credentials kept in Prefect blocks (prefect-aws), loaded and registered here.

`CATALOG_S3_CREDENTIALS_BLOCK` names an `AwsCredentials` or `MinIOCredentials` block. The
rule, so that two sources never mix silently:

- with a block, the access key id and secret come from the block only; setting
  `CATALOG_S3_ACCESS_KEY_ID` or `CATALOG_S3_SECRET_ACCESS_KEY` as well is refused;
- the endpoint URL (`aws_client_parameters.endpoint_url`) and region come from the block when
  it has them, else from `CATALOG_S3_ENDPOINT_URL` / `CATALOG_S3_REGION`; a value in both
  places that differs is refused;
- without a block, `CATALOG_S3_*` are used as before.

Prefect is imported lazily: commands that never touch object storage do not load it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from catalog_lib.adapters.prefect_rest import PrefectUnavailableError
from catalog_lib.core.errors import ConfigurationError
from catalog_lib.core.settings import Settings

logger = logging.getLogger(__name__)

BlockKind = Literal["aws", "minio"]
BLOCK_TYPE_SLUGS: dict[BlockKind, str] = {"aws": "aws-credentials", "minio": "minio-credentials"}
DEFAULT_BLOCK_NAME = "catalog-s3"


@dataclass(frozen=True)
class S3Credentials:
    """What the S3 backend needs from a credentials block (secrets unwrapped, not shown)."""

    block: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    endpoint_url: str | None = None
    region: str | None = None


def load_s3_credentials(name: str) -> S3Credentials:
    """Load the named AwsCredentials / MinIOCredentials block from the Prefect API.

    ``name`` is a block slug (`aws-credentials/NAME`, `minio-credentials/NAME`) or a bare
    NAME, which must then exist as exactly one of the two types.

    Raises:
        ConfigurationError: no such block, an ambiguous bare name, another block type, or
            a block without an access key id and secret.
        PrefectUnavailableError: the Prefect API could not be reached.
    """
    slugs = [name] if "/" in name else [f"{t}/{name}" for t in BLOCK_TYPE_SLUGS.values()]
    found = [(slug, block) for slug in slugs if (block := _load_block(slug)) is not None]
    if not found:
        raise ConfigurationError(
            "CATALOG_S3_CREDENTIALS_BLOCK names no AwsCredentials or MinIOCredentials block",
            block=name,
            hint="create it with `catalog-etl blocks register`",
        )
    if len(found) > 1:
        raise ConfigurationError(
            "the block name exists as aws-credentials and minio-credentials; give the slug",
            block=name,
        )
    slug, block = found[0]
    credentials = _credentials_of(slug, block)
    logger.info(
        "storage.credentials_source",
        extra={"source": "prefect_block", "block": slug, "endpoint_url": credentials.endpoint_url},
    )
    return credentials


def register_s3_block(settings: Settings, *, name: str, kind: BlockKind, overwrite: bool) -> str:
    """Save the current CATALOG_S3_* credentials as a block; return its slug.

    Raises:
        ConfigurationError: the access key id or secret is not set, or the block exists and
            ``overwrite`` is false.
        PrefectUnavailableError: the Prefect API could not be reached.
    """
    if settings.s3_access_key_id is None or settings.s3_secret_access_key is None:
        raise ConfigurationError(
            "set CATALOG_S3_ACCESS_KEY_ID and CATALOG_S3_SECRET_ACCESS_KEY to register a block"
        )
    from prefect_aws import AwsClientParameters, AwsCredentials, MinIOCredentials

    params = AwsClientParameters(endpoint_url=settings.s3_endpoint_url)
    key_id = settings.s3_access_key_id.get_secret_value()
    secret = SecretStr(settings.s3_secret_access_key.get_secret_value())
    block: Any
    if kind == "minio":
        block = MinIOCredentials(
            minio_root_user=key_id,
            minio_root_password=secret,
            region_name=settings.s3_region,
            aws_client_parameters=params,
        )
    else:
        block = AwsCredentials(
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            region_name=settings.s3_region,
            aws_client_parameters=params,
        )
    slug = f"{BLOCK_TYPE_SLUGS[kind]}/{name}"
    try:
        block.save(name, overwrite=overwrite, _sync=True)
    except ValueError as exc:
        raise ConfigurationError(
            "the block already exists; pass --overwrite to replace it", block=slug
        ) from exc
    except httpx.HTTPError as exc:
        raise PrefectUnavailableError(
            "the Prefect API could not be reached", error_name=type(exc).__name__
        ) from exc
    return slug


def _load_block(slug: str) -> Any:
    import prefect_aws  # noqa: F401 — registers AwsCredentials and MinIOCredentials
    from prefect.blocks.core import Block

    try:
        # `_sync`: a plain call, also when a caller runs inside an event loop.
        load: Any = Block.load
        return load(slug, _sync=True)
    except ValueError:
        return None  # Prefect's answer for "no block document of that name"
    except httpx.HTTPError as exc:
        raise PrefectUnavailableError(
            "the Prefect API could not be reached to load the credentials block",
            error_name=type(exc).__name__,
        ) from exc


def _credentials_of(slug: str, block: Any) -> S3Credentials:
    from prefect_aws import AwsCredentials, MinIOCredentials

    if isinstance(block, MinIOCredentials):
        key_id: str | None = block.minio_root_user
        secret: SecretStr | None = block.minio_root_password
        token = None
    elif isinstance(block, AwsCredentials):
        if block.profile_name or block.assume_role_arn:
            raise ConfigurationError(
                "AwsCredentials blocks with a profile or a role to assume are not supported; "
                "store an access key id and secret",
                block=slug,
            )
        key_id, secret = block.aws_access_key_id, block.aws_secret_access_key
        token = block.aws_session_token
    else:
        raise ConfigurationError(
            "the block is not an AwsCredentials or MinIOCredentials block", block=slug
        )
    if not key_id or secret is None or not secret.get_secret_value():
        raise ConfigurationError("the block holds no access key id and secret", block=slug)
    params = block.aws_client_parameters
    return S3Credentials(
        block=slug,
        access_key_id=key_id,
        secret_access_key=secret.get_secret_value(),
        session_token=token,
        endpoint_url=str(params.endpoint_url) if params.endpoint_url else None,
        region=block.region_name,
    )


def one_source(
    setting: str, from_block: str | None, from_env: str | None, block: str
) -> str | None:
    """The block's value, else the environment's; both set and different is refused."""
    if from_block is not None and from_env is not None and from_block != from_env:
        raise ConfigurationError(
            f"the credentials block and CATALOG_{setting.upper()} disagree; set it in one place",
            block=block,
        )
    return from_block if from_block is not None else from_env
