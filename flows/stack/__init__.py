"""The local stack: the Prefect server, serve, and the deployment list."""
