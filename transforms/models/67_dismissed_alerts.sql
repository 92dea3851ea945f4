-- What users dismissed that would have alerted on the report day D: vendor rules still firing and overdue items
-- still waiting, each with the decision that dismissed it. The digest counts these per vendor.
CREATE OR REPLACE TABLE marts.dismissed_alerts AS
WITH
rules AS (
    SELECT vendor_id, rule, '' AS item_key, subject, state, last_severity AS severity, dismissed_by AS feedback_id
    FROM marts.alert_history
    WHERE item_key = '' AND dismissed_by IS NOT NULL AND state IN ('new', 'ongoing', 'worse')
),

items AS (
    SELECT vendor_id, rule, item_key, subject, state, severity, dismissed_by AS feedback_id
    FROM intermediate.int_alert_items
    WHERE day = getvariable('report_day') AND dismissed_by IS NOT NULL AND state <> 'resolved'
),

dismissed AS (
    SELECT * FROM rules
    UNION ALL
    SELECT * FROM items
),

final AS (
    SELECT getvariable('report_day')::DATE AS day, *
    FROM dismissed
    SEMI JOIN marts.parties AS p ON p.party_id = vendor_id AND p.kind = 'vendor'
)

SELECT * FROM final;

COMMENT ON TABLE marts.dismissed_alerts IS 'What users dismissed on the report day D so that it does not alert (left out of marts.alerts and of the vendor''s status): vendor rules firing on D (item_key empty) and overdue items still waiting on D, configured vendors only. `commhealth dismiss list` shows the decisions. Grain: (vendor_id, rule, item_key).';
COMMENT ON COLUMN marts.dismissed_alerts.day IS 'The report day D.';
COMMENT ON COLUMN marts.dismissed_alerts.vendor_id IS 'The configured vendor.';
COMMENT ON COLUMN marts.dismissed_alerts.rule IS 'The rule (see marts.alerts.rule); vendor_overdue or company_overdue for an item.';
COMMENT ON COLUMN marts.dismissed_alerts.item_key IS 'The request message of an overdue item; empty for a rule.';
COMMENT ON COLUMN marts.dismissed_alerts.subject IS 'vendor or company: who it is about.';
COMMENT ON COLUMN marts.dismissed_alerts.state IS 'Its state on D (new, worse, ongoing).';
COMMENT ON COLUMN marts.dismissed_alerts.severity IS 'Its severity on D (warning or critical).';
COMMENT ON COLUMN marts.dismissed_alerts.feedback_id IS 'The decision that dismissed it (meta.feedback.id, the newest when several apply).';
