-- The digest's vendors of the report day $1, with the report day before it ("new or worse since").
SELECT v.*, (SELECT previous_day FROM intermediate.int_report_days WHERE day = $1) AS previous_day
FROM marts.digest_vendors AS v
WHERE v.day = $1
ORDER BY v.vendor_id;
