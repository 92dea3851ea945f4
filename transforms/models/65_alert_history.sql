-- The alert history, rebuilt at every build like every mart: each episode of a vendor rule (consecutive report days
-- it fired) and of an overdue item (from the day it crossed its SLA to the day it was answered), with its state on
-- the report day D: new (it starts on D), worse (its severity rose on D: an item crossing the critical factor, a rule
-- turning critical), ongoing, resolved (it ended on D: the rule stopped firing, the item was answered) or closed
-- (ended before D). dismissed_by marks what a user dismissed on D (marts.dismissals): marts.alerts leaves it out.
CREATE OR REPLACE TABLE marts.alert_history AS
WITH
days AS (
    SELECT
        day,
        row_number() OVER (ORDER BY day) AS n
    FROM intermediate.int_report_days
),

report_day AS (
    SELECT
        max(n) FILTER (WHERE day = getvariable('report_day')) AS n
    FROM days
),

rule_days AS (
    SELECT day, vendor_id, rule, subject, severity FROM intermediate.int_alert_latency
    UNION ALL
    SELECT day, vendor_id, rule, subject, severity FROM intermediate.int_alert_silence
    UNION ALL
    SELECT day, vendor_id, rule, subject, severity FROM intermediate.int_alert_confusion
    UNION ALL
    SELECT day, vendor_id, rule, subject, severity FROM intermediate.int_alert_chasing
),

islands AS (
    SELECT
        r.*,
        d.n,
        d.n - row_number() OVER (PARTITION BY r.vendor_id, r.rule ORDER BY d.n) AS island,
        lag(r.severity) OVER (PARTITION BY r.vendor_id, r.rule ORDER BY d.n) AS previous_severity,
        lag(d.n) OVER (PARTITION BY r.vendor_id, r.rule ORDER BY d.n) AS previous_n
    FROM rule_days AS r
    INNER JOIN days AS d ON d.day = r.day
),

rule_episodes AS (
    SELECT
        vendor_id,
        rule,
        '' AS item_key,
        any_value(subject) AS subject,
        min(day) AS first_seen,
        max(day) AS last_seen,
        max(n) AS last_n,
        CASE WHEN bool_or(severity = 'critical') THEN 'critical' ELSE 'warning' END AS peak_severity,
        arg_max(severity, n) AS last_severity,
        -- the severity rose on the last day of the episode (and that day was not its first)
        bool_or(n = previous_n + 1 AND severity = 'critical' AND previous_severity = 'warning')
            FILTER (WHERE n = (SELECT n FROM report_day)) AS rose_on_report_day
    FROM islands
    GROUP BY vendor_id, rule, island
),

rule_states AS (
    SELECT
        e.*,
        CASE
            WHEN e.last_n = r.n AND e.first_seen = getvariable('report_day') THEN 'new'
            WHEN e.last_n = r.n AND coalesce(e.rose_on_report_day, FALSE) THEN 'worse'
            WHEN e.last_n = r.n THEN 'ongoing'
            WHEN e.last_n = r.n - 1 THEN 'resolved'
            ELSE 'closed'
        END AS state
    FROM rule_episodes AS e
    CROSS JOIN report_day AS r
),

item_episodes AS (
    SELECT
        vendor_id,
        rule,
        item_key,
        any_value(subject) AS subject,
        min(day) AS first_seen,
        max(day) FILTER (WHERE state <> 'resolved') AS last_seen,
        CASE WHEN bool_or(severity = 'critical') THEN 'critical' ELSE 'warning' END AS peak_severity,
        arg_max(severity, day) AS last_severity,
        max(state) FILTER (WHERE day = getvariable('report_day')) AS state_on_report_day,
        max(dismissed_by) AS dismissed_by
    FROM intermediate.int_alert_items
    GROUP BY vendor_id, rule, item_key
),

-- A rule dismissal covers the episode of its vendor and rule: any, through its end date; else the one that was
-- firing on the day it was dismissed, while no more severe than then.
rule_dismissed AS (
    SELECT
        s.*,
        CASE WHEN s.state <> 'closed' THEN (
            SELECT max(d.feedback_id)
            FROM marts.dismissals AS d
            WHERE d.target = 'alert'
              AND d.vendor_id = s.vendor_id
              AND d.rule = s.rule
              AND (d.until IS NOT NULL
                   OR (s.first_seen <= d.episode_day AND (d.max_severity = 'critical' OR s.last_severity = 'warning')))
        ) END AS dismissed_by
    FROM rule_states AS s
),

final AS (
    SELECT
        vendor_id, rule, item_key, subject, first_seen, last_seen, peak_severity, last_severity, state, dismissed_by
    FROM rule_dismissed
    UNION ALL
    SELECT
        vendor_id,
        rule,
        item_key,
        subject,
        first_seen,
        last_seen,
        peak_severity,
        last_severity,
        coalesce(state_on_report_day, 'closed') AS state,
        CASE WHEN state_on_report_day IS NOT NULL THEN dismissed_by END AS dismissed_by
    FROM item_episodes
)

SELECT * FROM final;

COMMENT ON TABLE marts.alert_history IS 'The alert history as of the report day D, rebuilt from the messages at every build over the last [alerts] history_days: one row per episode of a vendor rule (consecutive report days it fired; item_key empty) and per overdue item (item_key = the request message). Grain: (vendor_id, rule, item_key, first_seen).';
COMMENT ON COLUMN marts.alert_history.vendor_id IS 'The configured vendor.';
COMMENT ON COLUMN marts.alert_history.rule IS 'latency_drift, silence, misunderstanding_spike, chasing, company_latency_drift (rules); vendor_overdue, company_overdue (items).';
COMMENT ON COLUMN marts.alert_history.item_key IS 'The request message of an overdue item; empty for a rule.';
COMMENT ON COLUMN marts.alert_history.subject IS 'vendor or company: who the alert is about (company: waiting on us).';
COMMENT ON COLUMN marts.alert_history.first_seen IS 'First report day of the episode (an item: the day it crossed its SLA, or the first day of the history).';
COMMENT ON COLUMN marts.alert_history.last_seen IS 'Last report day the rule fired or the item was overdue.';
COMMENT ON COLUMN marts.alert_history.peak_severity IS 'critical if it was critical on any day of the episode, else warning.';
COMMENT ON COLUMN marts.alert_history.last_severity IS 'Its severity on last_seen.';
COMMENT ON COLUMN marts.alert_history.state IS 'On D: new (started on D), worse (became critical on D), ongoing, resolved (ended on D: the rule stopped firing on D after firing on the report day before, or the item was answered on D), closed (ended before D).';
COMMENT ON COLUMN marts.alert_history.dismissed_by IS 'The dismissal in force on D that covers this episode or item (marts.dismissals.feedback_id, the newest), NULL when none or the episode is closed: it does not alert on D.';
