-- DuckDB: count the logical records of a local copy of a CSV object (parameter: its path).
-- The adapter fills in `{columns}`, an all-VARCHAR column map c0..cN wider than the header.
SELECT count(*)
FROM read_csv(
    ?,
    header = true, delim = ',', quote = '"', escape = '"', skip = 0, all_varchar = true,
    strict_mode = true, null_padding = true, parallel = false, auto_detect = false,
    columns = {columns}
)
