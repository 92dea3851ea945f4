-- What the digest says of the data before any vendor (marts.source_freshness of the day): whether the data has
-- ended, with its newest message; then one line per failure (a whole source's failure and the partitions it
-- left unread are one line, as are several partitions stopped by the same error); then one line per silent
-- partition that feeds a vendor.
WITH
freshness AS (
    SELECT * FROM marts.source_freshness WHERE day = $1
),

lines AS (
    SELECT
        1 AS rank,
        min(label) AS label,
        first(reason ORDER BY partition_key <> '*', label)
        || CASE
            WHEN bool_or(partition_key = '*') OR count(*) = 1 THEN ''
            ELSE ' (and ' || (count(*) - 1) || ' more)'
        END AS line
    FROM freshness
    WHERE state = 'failed'
    GROUP BY source, failed_at, failed_error
    UNION ALL
    SELECT
        2 AS rank,
        label,
        reason AS line
    FROM freshness
    WHERE state = 'silent' AND len(vendor_ids) > 0
)

SELECT
    (SELECT coalesce(bool_or(data_ended), FALSE) FROM freshness) AS data_ended,
    (SELECT any_value(data_newest_day_text) FROM freshness) AS data_newest_day_text,
    coalesce(list(line ORDER BY rank, label), []) AS lines
FROM lines;
