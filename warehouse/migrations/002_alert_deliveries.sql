-- What the daily digest posted, so a re-run of the same day posts nothing twice and a failed post is retried.
CREATE TABLE meta.alert_deliveries (
    day           DATE NOT NULL,
    channel       VARCHAR NOT NULL,
    vendor_id     VARCHAR NOT NULL,
    rule          VARCHAR NOT NULL,
    severity      VARCHAR,
    message_ts    VARCHAR,
    delivered_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (day, channel, vendor_id, rule)
);
COMMENT ON TABLE meta.alert_deliveries IS 'One row per thing posted to Slack for a report day: the digest itself (vendor_id ''*'', rule ''digest''), and each alert (vendor, rule) it carried, per channel. Only successful posts are recorded.';
COMMENT ON COLUMN meta.alert_deliveries.day IS 'The report day (company-local date) the digest is about.';
COMMENT ON COLUMN meta.alert_deliveries.channel IS 'The Slack channel posted to, as configured (#name or id).';
COMMENT ON COLUMN meta.alert_deliveries.vendor_id IS 'The vendor the alert is about; ''*'' for the digest message itself.';
COMMENT ON COLUMN meta.alert_deliveries.rule IS 'The alert rule (vendor_sla_breaches, vendor_overdue, ...) or ''digest''.';
COMMENT ON COLUMN meta.alert_deliveries.severity IS 'warning or critical, as posted.';
COMMENT ON COLUMN meta.alert_deliveries.message_ts IS 'Slack ts of the message that carried it (the digest thread for later updates).';
COMMENT ON COLUMN meta.alert_deliveries.delivered_at IS 'When it was posted.';
