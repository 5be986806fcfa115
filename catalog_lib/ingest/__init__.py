"""The ingest steps: jobs, the chunk ledger, staging, apply.

`steps` holds one function per step; each takes the `Runtime` and opens its own connection.
`jobs`, `ledger`, `staging` and `applying` take the step's open `conn` and never open one.
"""
