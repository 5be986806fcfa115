-- The history of flags over time: one line per (source, code, field) and snapshot, newest
-- first, with when each was first seen and its state (whole flag rows: `AuditFlag`s).
SELECT f.*, s.generated_at
FROM audit_flags f
JOIN audit_snapshots s ON s.id = f.snapshot_id
WHERE (%(source)s::text IS NULL OR f.source = %(source)s)
ORDER BY s.generated_at DESC, f.id
LIMIT %(limit)s
