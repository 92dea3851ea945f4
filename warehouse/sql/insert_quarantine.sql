-- The same bad input read again is already quarantined: keep the first row.
INSERT INTO core.quarantine (source, raw_ref, reason, excerpt, ingested_at)
SELECT DISTINCT ON (source, raw_ref, reason) source, raw_ref, reason, excerpt, $1::TIMESTAMPTZ
FROM incoming_quarantine
ON CONFLICT DO NOTHING;
