-- Reserve n ids from a table's identity sequence (seeded rows that other rows point at).
SELECT nextval(pg_get_serial_sequence(%(table)s, 'id')) AS id
FROM generate_series(1, %(n)s)
