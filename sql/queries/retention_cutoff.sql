-- The retention cutoff by the database clock: now minus the retention period.
SELECT now() - make_interval(days => %(days)s) AS cutoff
