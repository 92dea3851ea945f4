-- Dismissals in force on the report day D = getvariable('report_day'): what the alert rules leave out. Users
-- record them in meta.feedback (`commhealth dismiss alert|item`, later a Slack button); this model only reads them.
-- An alert dismissal covers an alert of its vendor and rule until it changes (the episode firing on the day it was
-- dismissed, while no more severe) or, with an end date, through that date whatever it does; an item dismissal
-- covers the overdue item (conversation, request message) for as long as it waits. Revoked decisions and those whose
-- end date is before D are left out.
CREATE OR REPLACE TABLE marts.dismissals AS
WITH
in_force AS (
    SELECT *
    FROM meta.feedback
    WHERE kind = 'dismiss'
      AND revoked_at IS NULL
      AND (until IS NULL OR until >= getvariable('report_day'))
),

final AS (
    SELECT
        getvariable('report_day')::DATE AS day,
        id AS feedback_id,
        CASE WHEN vendor_id IS NOT NULL THEN 'alert' ELSE 'item' END AS target,
        vendor_id,
        rule,
        conversation_key,
        request_message_key,
        CASE WHEN vendor_id IS NOT NULL AND until IS NULL THEN alert_severity END AS max_severity,
        CASE WHEN vendor_id IS NOT NULL AND until IS NULL THEN alert_day END AS episode_day,
        until,
        created_at,
        author,
        origin,
        note
    FROM in_force
)

SELECT * FROM final;

COMMENT ON TABLE marts.dismissals IS 'Dismissals in force on the report day D (meta.feedback rows of kind dismiss, not revoked, until NULL or >= D), for the alert rules to filter on. An alert of D (marts.alert_history episode: vendor_id, rule, first_seen, severity) is dismissed by a row with target alert, the same vendor_id and rule, and either until set, or first_seen <= episode_day (the episode firing when it was dismissed) and (max_severity critical or the alert a warning). An overdue item is dismissed by a row with target item and the same (conversation_key, request_message_key). What they covered on D is in marts.dismissed_alerts. Grain: (feedback_id).';
COMMENT ON COLUMN marts.dismissals.day IS 'The report day D the dismissal is in force on.';
COMMENT ON COLUMN marts.dismissals.feedback_id IS 'The decision (meta.feedback.id).';
COMMENT ON COLUMN marts.dismissals.target IS 'alert (a vendor''s alert rule: vendor_id + rule) or item (one overdue item: conversation_key + request_message_key).';
COMMENT ON COLUMN marts.dismissals.vendor_id IS 'target alert: the vendor of the alert; NULL for an item.';
COMMENT ON COLUMN marts.dismissals.rule IS 'target alert: the alert rule (marts.alerts.rule); NULL for an item.';
COMMENT ON COLUMN marts.dismissals.conversation_key IS 'target item: the measured conversation of the item (marts.awaiting.conversation_key); NULL for an alert.';
COMMENT ON COLUMN marts.dismissals.request_message_key IS 'target item: the message that asked (marts.awaiting.request_message_key); NULL for an alert.';
COMMENT ON COLUMN marts.dismissals.max_severity IS 'target alert without an end date: the severity it was dismissed at; a critical alert is not covered by a warning''s dismissal. NULL: any severity.';
COMMENT ON COLUMN marts.dismissals.episode_day IS 'target alert without an end date: the report day it was dismissed on; only the episode firing that day is covered (one that starts later is new). NULL: any episode.';
COMMENT ON COLUMN marts.dismissals.until IS 'The last report day the dismissal applies to, whatever the alert does; NULL: until the alert changes (alerts) or for as long as the item waits (items).';
COMMENT ON COLUMN marts.dismissals.created_at IS 'When the decision was recorded (UTC).';
COMMENT ON COLUMN marts.dismissals.author IS 'Who decided (meta.feedback.author).';
COMMENT ON COLUMN marts.dismissals.origin IS 'cli or slack.';
COMMENT ON COLUMN marts.dismissals.note IS 'Why, in the author''s words.';
