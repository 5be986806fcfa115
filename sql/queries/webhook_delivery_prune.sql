-- Forget deliveries older than the replay window: their signatures are stale anyway.
DELETE FROM webhook_deliveries WHERE received_at < %(not_before)s
