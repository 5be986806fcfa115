-- The applied Alembic revision (run only when the table exists: see alembic_version_exists).
SELECT version_num FROM alembic_version
