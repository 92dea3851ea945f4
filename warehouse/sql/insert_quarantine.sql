INSERT INTO core.quarantine (source, raw_ref, reason, excerpt, ingested_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING;
