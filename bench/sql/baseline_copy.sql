-- Baseline, step 2: the raw file's bytes straight into the landing table (no client parsing).
COPY baseline_raw FROM STDIN (FORMAT csv, HEADER true)
