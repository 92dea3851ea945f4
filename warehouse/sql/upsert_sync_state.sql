INSERT OR REPLACE INTO meta.sync_state (source, partition_key, cursor, updated_at)
SELECT DISTINCT ON (source, partition_key) source, partition_key, cursor, $1::TIMESTAMPTZ
FROM incoming_directory;
