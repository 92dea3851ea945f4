-- What the confusion and chasing rules read, per report day and vendor: misunderstanding signals and counted
-- messages in the detection window and in the baseline before it (both sides: confusion is an exchange's, not one
-- side's), and the company's chasers (nudges, escalations).
CREATE OR REPLACE TABLE intermediate.int_alert_signals AS
WITH
grid AS (
    SELECT
        d.day,
        d.ends_at,
        d.window_starts_at,
        d.baseline_starts_at,
        p.party_id AS vendor_id
    FROM intermediate.int_report_days AS d
    CROSS JOIN (SELECT party_id FROM marts.parties WHERE kind = 'vendor') AS p
),

messages AS (
    SELECT
        g.day,
        g.vendor_id,
        count(*) FILTER (WHERE c.sent_at > g.window_starts_at) AS window_messages,
        count(*) FILTER (WHERE c.sent_at <= g.window_starts_at) AS baseline_messages
    FROM grid AS g
    INNER JOIN intermediate.int_counted_messages AS c
        ON c.vendor_id = g.vendor_id
       AND c.sent_at > g.baseline_starts_at
       AND c.sent_at <= g.ends_at
    GROUP BY ALL
),

signals AS (
    SELECT
        g.day,
        g.vendor_id,
        s.sent_at > g.window_starts_at AS in_window,
        s.signal,
        s.side
    FROM grid AS g
    INNER JOIN marts.message_signals AS s
        ON s.vendor_id = g.vendor_id
       AND s.sent_at > g.baseline_starts_at
       AND s.sent_at <= g.ends_at
),

counts AS (
    SELECT
        day,
        vendor_id,
        count(*) FILTER (WHERE in_window AND signal IN ('clarification', 'rework', 'repetition', 'info_request'))
            AS window_confusion,
        count(*) FILTER (WHERE NOT in_window AND signal IN ('clarification', 'rework', 'repetition', 'info_request'))
            AS baseline_confusion,
        count(*) FILTER (WHERE in_window AND side = 'company' AND signal IN ('nudge', 'escalation'))
            AS window_chasers,
        count(*) FILTER (WHERE NOT in_window AND side = 'company' AND signal IN ('nudge', 'escalation'))
            AS baseline_chasers
    FROM signals
    GROUP BY ALL
),

final AS (
    SELECT
        g.day,
        g.vendor_id,
        coalesce(m.window_messages, 0) AS window_messages,
        coalesce(m.baseline_messages, 0) AS baseline_messages,
        coalesce(c.window_confusion, 0) AS window_confusion,
        coalesce(c.baseline_confusion, 0) AS baseline_confusion,
        coalesce(c.window_chasers, 0) AS window_chasers,
        coalesce(c.baseline_chasers, 0) AS baseline_chasers,
        epoch(g.ends_at - g.window_starts_at) / epoch(g.window_starts_at - g.baseline_starts_at) AS window_share
    FROM grid AS g
    LEFT JOIN messages AS m ON m.day = g.day AND m.vendor_id = g.vendor_id
    LEFT JOIN counts AS c ON c.day = g.day AND c.vendor_id = g.vendor_id
)

SELECT * FROM final;

COMMENT ON TABLE intermediate.int_alert_signals IS 'Staging: what the confusion and chasing rules read, per report day and vendor: counted messages, confusion signals (clarification, rework, repetition, info_request; both sides) and the company''s chasers (nudge, escalation) in the detection window and the baseline (int_report_days). Grain: (day, vendor_id).';
COMMENT ON COLUMN intermediate.int_alert_signals.day IS 'The report day.';
COMMENT ON COLUMN intermediate.int_alert_signals.vendor_id IS 'The configured vendor.';
COMMENT ON COLUMN intermediate.int_alert_signals.window_messages IS 'Counted messages (both sides) sent in the detection window.';
COMMENT ON COLUMN intermediate.int_alert_signals.baseline_messages IS 'Counted messages (both sides) sent in the baseline.';
COMMENT ON COLUMN intermediate.int_alert_signals.window_confusion IS 'Confusion signals (clarification, rework, repetition, info_request; both sides) in the detection window.';
COMMENT ON COLUMN intermediate.int_alert_signals.baseline_confusion IS 'The same in the baseline.';
COMMENT ON COLUMN intermediate.int_alert_signals.window_chasers IS 'The company''s nudges and escalations to the vendor in the detection window.';
COMMENT ON COLUMN intermediate.int_alert_signals.baseline_chasers IS 'The same in the baseline.';
COMMENT ON COLUMN intermediate.int_alert_signals.window_share IS 'Length of the detection window over the baseline''s: a baseline count times this is what the window would hold at the baseline''s pace.';
