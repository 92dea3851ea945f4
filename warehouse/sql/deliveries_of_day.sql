SELECT channel, vendor_id, rule, message_ts, delivered_at FROM meta.alert_deliveries WHERE day = $1;
