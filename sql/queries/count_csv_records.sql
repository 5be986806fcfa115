-- DuckDB: count the logical records of a local copy of a CSV object (parameter: its path).
-- The adapter fills in integers only: `{columns}`, an all-VARCHAR column map c0..cN as wide as
-- the widest row, and `{max_line}` / `{buffer}`, sized from the longest record it measured.
SELECT count(*)
FROM read_csv(
    ?,
    header = true, delim = ',', quote = '"', escape = '"', skip = 0, all_varchar = true,
    strict_mode = true, null_padding = true, parallel = false, auto_detect = false,
    max_line_size = {max_line}, buffer_size = {buffer},
    columns = {columns}
)
