-- Set a server setting for the rest of the current transaction only (`SET LOCAL`, with a bound
-- value); returns the value it had before, so the caller can put it back.
WITH before AS MATERIALIZED (
    SELECT current_setting(%(name)s) AS previous
)
SELECT b.previous, set_config(%(name)s, %(value)s, true) AS value
FROM before b
