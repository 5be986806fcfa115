"""The `catalog-etl` command line, one module per command group."""

from flows.cli.app import main

__all__ = ["main"]
