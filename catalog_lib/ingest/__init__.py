"""The ingest steps: jobs, the chunk ledger, staging, apply."""
