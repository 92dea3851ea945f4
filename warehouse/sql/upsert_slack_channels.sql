INSERT OR REPLACE INTO raw.slack_channels (channel_id, name, is_shared, vendor_id, source, raw_ref, ingested_at)
SELECT DISTINCT ON (channel_id) channel_id, name, is_shared, vendor_id, source, raw_ref, $1::TIMESTAMPTZ
FROM incoming_directory;
