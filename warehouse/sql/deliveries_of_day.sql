SELECT channel, vendor_id, rule, message_ts FROM meta.alert_deliveries WHERE day = $1;
