-- What users decided about the marts: a message that is not a request, an alert or an overdue item dismissed.
-- Builds read this table and never write it (transforms/reset.sql leaves meta alone), so decisions survive every
-- rebuild; a decision is undone by stamping revoked_at, never by deleting it, so the history stays. The CLI
-- (`commhealth dismiss`) writes rows with origin 'cli'; a Slack interaction handler can insert the same rows with
-- origin 'slack', the Slack user as author and the interaction's id as origin_ref (README, Feedback).
CREATE SEQUENCE meta.feedback_ids;

CREATE TABLE meta.feedback (
    id                  BIGINT PRIMARY KEY DEFAULT nextval('meta.feedback_ids'),
    created_at          TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    kind                VARCHAR NOT NULL CHECK (kind IN ('not_a_request', 'dismiss')),
    message_key         VARCHAR,
    vendor_id           VARCHAR,
    rule                VARCHAR,
    conversation_key    VARCHAR,
    request_message_key VARCHAR,
    alert_severity      VARCHAR CHECK (alert_severity IN ('warning', 'critical')),
    alert_day           DATE,
    until               DATE,
    author              VARCHAR NOT NULL,
    origin              VARCHAR NOT NULL CHECK (origin IN ('cli', 'slack')),
    origin_ref          VARCHAR,
    note                VARCHAR,
    revoked_at          TIMESTAMPTZ,
    revoked_by          VARCHAR,
    UNIQUE (origin, origin_ref),
    -- Exactly one target: a message (not_a_request), an alert (vendor_id + rule) or an overdue item
    -- (conversation_key + request_message_key). An alert dismissed without an end date needs the alert as it was
    -- (its report day and severity), to tell when it changes.
    CHECK (
        (kind = 'not_a_request' AND message_key IS NOT NULL AND vendor_id IS NULL AND rule IS NULL
            AND conversation_key IS NULL AND request_message_key IS NULL AND until IS NULL)
        OR (kind = 'dismiss' AND message_key IS NULL AND vendor_id IS NOT NULL AND rule IS NOT NULL
            AND conversation_key IS NULL AND request_message_key IS NULL
            AND (until IS NOT NULL OR (alert_severity IS NOT NULL AND alert_day IS NOT NULL)))
        OR (kind = 'dismiss' AND message_key IS NULL AND vendor_id IS NULL AND rule IS NULL
            AND conversation_key IS NOT NULL AND request_message_key IS NOT NULL)
    )
);
COMMENT ON TABLE meta.feedback IS 'User decisions about the marts, one row per decision, never dropped or rewritten by builds: a message marked not a request (kind not_a_request: it asks nothing, so its turn opens no clock), an alert dismissed (kind dismiss on vendor_id + rule) or an overdue item dismissed (kind dismiss on conversation_key + request_message_key). The next build applies the decisions in force (revoked_at NULL) to all history; marts.dismissals lists the dismissals in force on the report day.';
COMMENT ON COLUMN meta.feedback.id IS 'Decision number (sequence meta.feedback_ids), as `commhealth dismiss list` shows it and `commhealth dismiss undo ID` takes it.';
COMMENT ON COLUMN meta.feedback.created_at IS 'When the decision was recorded (UTC). A not_a_request recorded or revoked after the last build puts its message''s conversation in the next incremental build.';
COMMENT ON COLUMN meta.feedback.kind IS 'not_a_request (on message_key) or dismiss (on an alert: vendor_id + rule; or on an overdue item: conversation_key + request_message_key).';
COMMENT ON COLUMN meta.feedback.message_key IS 'not_a_request: the message (core.messages.message_key) that asks nothing, whatever the needs-reply rules read in it.';
COMMENT ON COLUMN meta.feedback.vendor_id IS 'dismiss of an alert: the vendor of the alert (marts.alerts.vendor_id).';
COMMENT ON COLUMN meta.feedback.rule IS 'dismiss of an alert: the alert rule (marts.alerts.rule).';
COMMENT ON COLUMN meta.feedback.conversation_key IS 'dismiss of an overdue item: its measured conversation (marts.awaiting.conversation_key).';
COMMENT ON COLUMN meta.feedback.request_message_key IS 'dismiss of an overdue item: the message that asked (marts.awaiting.request_message_key); a later request in the conversation is a new item.';
COMMENT ON COLUMN meta.feedback.alert_severity IS 'dismiss of an alert: its severity when dismissed (marts.alerts.severity). Without until, the dismissal holds until the alert changes: it turns critical when it was a warning, or it stops and fires again (a new episode in marts.alert_history).';
COMMENT ON COLUMN meta.feedback.alert_day IS 'dismiss of an alert: the report day of the alert dismissed (marts.alerts.day); without until, the dismissal covers the episode that was firing that day.';
COMMENT ON COLUMN meta.feedback.until IS 'dismiss: the last report day (company-local date) the dismissal applies to, whatever the alert does; NULL: until the alert changes (alerts) or for as long as the item waits (items).';
COMMENT ON COLUMN meta.feedback.author IS 'Who decided: free text, the OS user for the CLI (or --author), the Slack user id for a Slack interaction.';
COMMENT ON COLUMN meta.feedback.origin IS 'Where the decision was made: cli, or slack (an interaction handler, later).';
COMMENT ON COLUMN meta.feedback.origin_ref IS 'The origin''s id of the decision, unique per origin, so a retried delivery inserts nothing twice (Slack: the interaction''s action_ts with the message ts); NULL for the CLI.';
COMMENT ON COLUMN meta.feedback.note IS 'Why, in the author''s words (optional).';
COMMENT ON COLUMN meta.feedback.revoked_at IS 'When the decision was undone (`commhealth dismiss undo`, or replaced by a newer decision on the same target); NULL while it holds.';
COMMENT ON COLUMN meta.feedback.revoked_by IS 'Who undid it (as author), NULL while it holds.';
