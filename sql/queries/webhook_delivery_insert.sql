-- Remember an accepted delivery's receipt (an expired row of the same signature is replaced).
INSERT INTO webhook_deliveries (signature_hash, received_at, receipt)
VALUES (%(signature_hash)s, %(received_at)s, %(receipt)s)
ON CONFLICT (signature_hash) DO UPDATE
SET received_at = EXCLUDED.received_at, receipt = EXCLUDED.receipt
