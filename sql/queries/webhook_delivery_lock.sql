-- Serialise deliveries of one signature (concurrent replays wait for the first to finish).
SELECT pg_advisory_xact_lock(hashtextextended(%(signature_hash)s, 0))
