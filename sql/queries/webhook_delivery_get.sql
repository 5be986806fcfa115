-- The receipt of an accepted delivery still inside the replay window.
SELECT receipt, received_at
FROM webhook_deliveries
WHERE signature_hash = %(signature_hash)s AND received_at >= %(not_before)s
