INSERT OR REPLACE INTO meta.alert_deliveries (day, channel, vendor_id, rule, severity, message_ts, delivered_at)
VALUES ($1, $2, $3, $4, $5, $6, now())
RETURNING delivered_at;
