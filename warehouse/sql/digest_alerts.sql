SELECT vendor_id, rule, severity, summary, evidence
FROM marts.alerts
WHERE day = $1
ORDER BY vendor_id, CASE severity WHEN 'critical' THEN 0 ELSE 1 END, rule;
