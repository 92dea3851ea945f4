-- Overdue items per report day: requests past their SLA and still unanswered at the end of the day (asked within
-- awaiting_lookback_days). An item is new on the day its wait crossed the SLA, worse on the day it crossed
-- overdue_critical_factor x the SLA, ongoing in between, and resolved on the day it is answered. vendor_overdue
-- when it waits on the vendor, company_overdue when it waits on us. An item a user dismissed (marts.dismissals)
-- keeps its rows, marked with the decision, so the alerts leave it out and the digest can count it.
CREATE OR REPLACE TABLE intermediate.int_alert_items AS
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
    FROM intermediate.int_report_days AS d
    INNER JOIN intermediate.int_requests AS q
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
    FROM intermediate.int_report_days AS d
    INNER JOIN intermediate.int_requests AS q
        ON q.responded_at > d.previous_ends_at
       AND q.responded_at <= d.ends_at
       AND q.sla_due_at < d.previous_ends_at
       AND q.requested_at > d.previous_ends_at - to_days(getvariable('awaiting_lookback_days'))
),

item_dismissals AS (
    SELECT
        conversation_key,
        request_message_key AS item_key,
        max(feedback_id) AS dismissed_by
    FROM marts.dismissals
    WHERE target = 'item'
    GROUP BY ALL
),

items AS (
    SELECT * FROM overdue
    UNION ALL
    SELECT * FROM resolved
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
        state,
        x.dismissed_by
    FROM items
    LEFT JOIN item_dismissals AS x USING (conversation_key, item_key)
)

SELECT * FROM final;

COMMENT ON TABLE intermediate.int_alert_items IS 'Staging: overdue items per report day: requests past the waiting side''s SLA and unanswered at the end of the day (asked within awaiting_lookback_days), and those answered that day after being overdue. Grain: (day, vendor_id, rule, item_key).';
COMMENT ON COLUMN intermediate.int_alert_items.rule IS 'vendor_overdue (waits on the vendor) or company_overdue (waits on us).';
COMMENT ON COLUMN intermediate.int_alert_items.subject IS 'vendor or company: who the item waits on.';
COMMENT ON COLUMN intermediate.int_alert_items.item_key IS 'The request message (int_requests.request_message_key).';
COMMENT ON COLUMN intermediate.int_alert_items.severity IS 'critical once the wait passed [alerts] overdue_critical_factor x the SLA, else warning.';
COMMENT ON COLUMN intermediate.int_alert_items.state IS 'new (crossed the SLA that day), worse (crossed the critical factor that day), ongoing, or resolved (answered that day).';
COMMENT ON COLUMN intermediate.int_alert_items.day IS 'The report day.';
COMMENT ON COLUMN intermediate.int_alert_items.vendor_id IS 'The configured vendor.';
COMMENT ON COLUMN intermediate.int_alert_items.conversation_key IS 'The conversation of the request (intermediate.int_requests).';
COMMENT ON COLUMN intermediate.int_alert_items.requested_at IS 'When the request was sent.';
COMMENT ON COLUMN intermediate.int_alert_items.sla_minutes IS 'The waiting side''s SLA in business minutes.';
COMMENT ON COLUMN intermediate.int_alert_items.dismissed_by IS 'The item dismissal in force on the report day D (marts.dismissals.feedback_id, the newest), NULL when not dismissed: a dismissed item does not alert.';
