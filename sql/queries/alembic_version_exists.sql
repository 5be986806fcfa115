-- Whether the schema was ever migrated (the Alembic bookkeeping table exists).
SELECT to_regclass('alembic_version') IS NOT NULL AS present
