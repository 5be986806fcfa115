-- The PostgreSQL server version, as `db status` reports it.
SELECT current_setting('server_version') AS server_version
