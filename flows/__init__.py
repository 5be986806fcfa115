"""Prefect flows, deployment helpers and the `catalog-etl` command line (thin over catalog_lib)."""
