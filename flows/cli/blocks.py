"""`catalog-etl blocks register` stores the current S3 credentials in a Prefect block.

A worker fleet then shares one secret kept by Prefect: set CATALOG_S3_CREDENTIALS_BLOCK on
each worker and leave CATALOG_S3_ACCESS_KEY_ID/SECRET unset there.
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from flows.cli.output import JSON_OPTION, emit, handle_errors, load_settings
from flows.s3_blocks import BLOCK_TYPE_SLUGS, DEFAULT_BLOCK_NAME, register_s3_block
from flows.stack.prefect_server import use_prefect_server

blocks_app = typer.Typer(
    help="Prefect blocks: keep object-storage credentials in Prefect.", no_args_is_help=True
)


@blocks_app.command("register")
def register(
    name: Annotated[str, typer.Option(help="Block name.")] = DEFAULT_BLOCK_NAME,
    kind: Annotated[
        Literal["aws", "minio"],
        typer.Option(help="`aws`: AwsCredentials (S3, R2); `minio`: MinIOCredentials."),
    ] = "aws",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a block of the same name.")
    ] = False,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create the credentials block from CATALOG_S3_* (endpoint, region, key id, secret)."""
    settings = load_settings(as_json)
    with handle_errors(as_json):
        server = use_prefect_server(settings.state_dir)
        slug = register_s3_block(settings, name=name, kind=kind, overwrite=overwrite)
    document = {
        "block": slug,
        "block_type": BLOCK_TYPE_SLUGS[kind],
        "name": name,
        "endpoint_url": settings.s3_endpoint_url,
        "region": settings.s3_region,
        "prefect_api_url": server.api_url,
        "next": f"export CATALOG_S3_CREDENTIALS_BLOCK={slug}; "
        "unset CATALOG_S3_ACCESS_KEY_ID CATALOG_S3_SECRET_ACCESS_KEY",
    }
    emit(
        document,
        as_json=as_json,
        text=lambda: typer.echo(
            f"saved {slug} on {server.api_url} (the secret is stored as a SecretStr)\n"
            f"next: {document['next']}"
        ),
    )
