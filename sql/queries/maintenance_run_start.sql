-- Open a maintenance run (retention sweep, audit) before its work starts.
INSERT INTO maintenance_runs (kind, status, parameters)
VALUES (%(kind)s, 'running', %(parameters)s)
RETURNING id, started_at
