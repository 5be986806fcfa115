"""Operations: operator actions, crash sweep, retention, audit, and the read API.

Connections follow the step convention of `catalog_lib.ingest.steps`: an operation called by
a flow, the CLI or the console takes the `Runtime` (or a `database_url`) and opens its own
connection with `catalog_lib.adapters.postgres.connect`; helpers and the read API
(`reports`) take the caller's open `conn`.
"""
