"""IO adapters: PostgreSQL, object storage, DuckDB counting, embeddings, Sentry, Prefect REST."""
