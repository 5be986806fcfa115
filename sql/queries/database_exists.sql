-- Whether a database of this name exists on the server (asked from the `postgres` database).
SELECT 1 FROM pg_database WHERE datname = %(name)s
