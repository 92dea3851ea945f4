-- Reads of partitions, staged by extractions: each row keeps the latest success, the latest failure with its
-- error, and the newest message ever seen. Taking maxima makes merging a part twice, or parts out of order, safe.
INSERT INTO meta.source_reads AS stored
    (source, partition_key, partition_name, last_read_at, last_failed_at, last_error, newest_sent_at, updated_at)
SELECT
    source,
    partition_key,
    arg_max(partition_name, read_at) FILTER (WHERE partition_name IS NOT NULL) AS partition_name,
    max(read_at) FILTER (WHERE error IS NULL) AS last_read_at,
    max(read_at) FILTER (WHERE error IS NOT NULL) AS last_failed_at,
    arg_max(error, read_at) FILTER (WHERE error IS NOT NULL) AS last_error,
    max(newest_sent_at) AS newest_sent_at,
    $1::TIMESTAMPTZ AS updated_at
FROM incoming_directory
GROUP BY source, partition_key
ON CONFLICT (source, partition_key) DO UPDATE SET
    partition_name = coalesce(excluded.partition_name, stored.partition_name),
    last_read_at = greatest(stored.last_read_at, excluded.last_read_at),
    last_failed_at = greatest(stored.last_failed_at, excluded.last_failed_at),
    last_error = CASE
        WHEN excluded.last_failed_at >= coalesce(stored.last_failed_at, excluded.last_failed_at)
            THEN excluded.last_error
        ELSE stored.last_error
    END,
    newest_sent_at = greatest(stored.newest_sent_at, excluded.newest_sent_at),
    updated_at = excluded.updated_at;
