INSERT OR REPLACE INTO raw.slack_channels (channel_id, name, is_shared, vendor_id, source, raw_ref, ingested_at)
VALUES ($1, $2, $3, $4, $5, $6, $7);
