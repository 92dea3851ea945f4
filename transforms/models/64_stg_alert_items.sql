-- Overdue items per report day: requests past their SLA and still unanswered at the end of the day (asked within
-- awaiting_lookback_days). An item is new on the day its wait crossed the SLA, worse on the day it crossed
-- overdue_critical_factor x the SLA, ongoing in between, and resolved on the day it is answered. vendor_overdue
-- when it waits on the vendor, company_overdue when it waits on us.
CREATE OR REPLACE TABLE marts.stg_alert_items AS
WITH
overdue AS (
    SELECT
        d.day,
        q.vendor_id,
        CASE WHEN q.waiting_on = 'vendor' THEN 'vendor_overdue' ELSE 'company_overdue' END AS rule,
        q.waiting_on AS subject,
        q.request_message_key AS item_key,
        q.conversation_key,
        q.requested_at,
        q.sla_minutes,
        q.critical_due_at < d.ends_at AS past_critical,
        CASE
            WHEN q.critical_due_at >= d.previous_ends_at AND q.critical_due_at < d.ends_at THEN 'worse'
            WHEN q.sla_due_at >= d.previous_ends_at OR d.previous_ends_at IS NULL THEN 'new'
            ELSE 'ongoing'
        END AS state
    FROM marts.stg_report_days AS d
    INNER JOIN marts.stg_requests AS q
        ON q.sla_due_at < d.ends_at
       AND (q.responded_at IS NULL OR q.responded_at > d.ends_at)
       AND q.requested_at > d.ends_at - to_days(getvariable('awaiting_lookback_days'))
),

resolved AS (
    SELECT
        d.day,
        q.vendor_id,
        CASE WHEN q.waiting_on = 'vendor' THEN 'vendor_overdue' ELSE 'company_overdue' END AS rule,
        q.waiting_on AS subject,
        q.request_message_key AS item_key,
        q.conversation_key,
        q.requested_at,
        q.sla_minutes,
        q.critical_due_at < q.responded_at AS past_critical,
        'resolved' AS state
    FROM marts.stg_report_days AS d
    INNER JOIN marts.stg_requests AS q
        ON q.responded_at > d.previous_ends_at
       AND q.responded_at <= d.ends_at
       AND q.sla_due_at < d.previous_ends_at
       AND q.requested_at > d.previous_ends_at - to_days(getvariable('awaiting_lookback_days'))
),

final AS (
    SELECT
        day,
        vendor_id,
        rule,
        subject,
        item_key,
        conversation_key,
        requested_at,
        sla_minutes,
        CASE WHEN past_critical THEN 'critical' ELSE 'warning' END AS severity,
        state
    FROM (SELECT * FROM overdue UNION ALL SELECT * FROM resolved)
)

SELECT * FROM final;

COMMENT ON TABLE marts.stg_alert_items IS 'Staging: overdue items per report day: requests past the waiting side''s SLA and unanswered at the end of the day (asked within awaiting_lookback_days), and those answered that day after being overdue. Grain: (day, vendor_id, rule, item_key).';
COMMENT ON COLUMN marts.stg_alert_items.rule IS 'vendor_overdue (waits on the vendor) or company_overdue (waits on us).';
COMMENT ON COLUMN marts.stg_alert_items.subject IS 'vendor or company: who the item waits on.';
COMMENT ON COLUMN marts.stg_alert_items.item_key IS 'The request message (stg_requests.request_message_key).';
COMMENT ON COLUMN marts.stg_alert_items.severity IS 'critical once the wait passed [alerts] overdue_critical_factor x the SLA, else warning.';
COMMENT ON COLUMN marts.stg_alert_items.state IS 'new (crossed the SLA that day), worse (crossed the critical factor that day), ongoing, or resolved (answered that day).';
