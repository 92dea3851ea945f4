SELECT * FROM marts.digest_vendors WHERE day = $1 ORDER BY vendor_id;
