SELECT vendor_id, day, median_business_minutes FROM marts.digest_latency WHERE day <= $1 ORDER BY vendor_id, day;
