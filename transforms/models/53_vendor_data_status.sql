-- Whether each configured vendor can be judged as of as_of: the partitions that feed it (marts.source_freshness
-- vendor_ids) and whether any of them is ok. A vendor fed by several partitions has data while at least one of them
-- is ok (the digest lists the others first); it has none when every one is failed, silent or ended, when the data
-- has ended, or when nothing fed it in the history window (no message from or to it in those days).
CREATE OR REPLACE TABLE marts.vendor_data_status AS
WITH
vendors AS (
    SELECT party_id AS vendor_id
    FROM marts.parties
    WHERE kind = 'vendor'
),

fed AS (
    SELECT
        unnest(vendor_ids) AS vendor_id,
        source,
        partition_key,
        state,
        reason,
        newest_at
    FROM marts.source_freshness
),

per_vendor AS (
    SELECT
        vendor_id,
        list({'source': source, 'partition_key': partition_key, 'state': state} ORDER BY source, partition_key)
            AS partitions,
        bool_or(state = 'ok') AS any_ok,
        count(*) FILTER (WHERE state <> 'ok') AS not_ok,
        -- failures first, then the partition that went quiet most recently
        first(reason ORDER BY CASE state WHEN 'failed' THEN 0 ELSE 1 END ASC, newest_at DESC NULLS LAST, reason ASC)
            FILTER (WHERE state <> 'ok') AS first_reason
    FROM fed
    GROUP BY vendor_id
),

data_end AS (
    SELECT
        coalesce(bool_or(data_ended), FALSE) AS data_ended,
        any_value(reason) FILTER (WHERE state = 'ended') AS ended_reason
    FROM marts.source_freshness
),

final AS (
    SELECT
        getvariable('report_day')::DATE AS day,
        v.vendor_id,
        coalesce(p.partitions, []) AS partitions,
        NOT d.data_ended AND coalesce(p.any_ok, FALSE) AS has_data,
        CASE
            WHEN d.data_ended AND d.ended_reason IS NOT NULL THEN d.ended_reason
            WHEN p.vendor_id IS NULL THEN
                'no message from or to this vendor in the '
                || (getvariable('alert_recent_days') + getvariable('alert_baseline_days')) || ' days up to '
                || strftime(getvariable('report_day'), '%-d %b')
            -- the data has ended while every partition failed: the failures say why
            WHEN d.data_ended OR NOT p.any_ok THEN
                p.first_reason || CASE WHEN p.not_ok > 1 THEN ' (and ' || (p.not_ok - 1) || ' more)' ELSE '' END
        END AS reason
    FROM vendors AS v
    LEFT JOIN per_vendor AS p ON p.vendor_id = v.vendor_id
    CROSS JOIN data_end AS d
)

SELECT * FROM final;

COMMENT ON TABLE marts.vendor_data_status IS 'Whether each configured vendor can be judged as of as_of, from marts.source_freshness: it has data while at least one partition that feeds it is ok and the data has not ended. Grain: (vendor_id).';
COMMENT ON COLUMN marts.vendor_data_status.day IS 'The report day D.';
COMMENT ON COLUMN marts.vendor_data_status.vendor_id IS 'The configured vendor.';
COMMENT ON COLUMN marts.vendor_data_status.partitions IS 'The partitions that feed it (source_freshness.vendor_ids), with their state.';
COMMENT ON COLUMN marts.vendor_data_status.has_data IS 'False when the data has ended, when no partition fed it in the history window, or when every partition that feeds it is failed or silent: its figures would be built on missing data.';
COMMENT ON COLUMN marts.vendor_data_status.reason IS 'Why it has no data, one line (a failed partition first, else the one silent since the latest date; "(and N more)" when several are); NULL when it has data.';
