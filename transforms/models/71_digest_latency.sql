-- Chart data of the daily digest: the daily median business response time of the VENDOR side per vendor, over
-- the alert_chart_days company-local days ending the report day D. Only days with responses have a row.
CREATE OR REPLACE TABLE marts.digest_latency AS
WITH
vendors AS (
    SELECT party_id AS vendor_id
    FROM marts.parties
    WHERE kind = 'vendor'
),

final AS (
    SELECT
        r.vendor_id,
        r.day,
        quantile_cont(r.business_minutes, 0.5) AS median_business_minutes,
        count(*) AS responses
    FROM marts.responses AS r
    SEMI JOIN vendors AS v ON v.vendor_id = r.vendor_id
    WHERE r.direction = 'vendor_response'
      AND r.day <= getvariable('report_day')
      AND r.day >= getvariable('report_day') - (getvariable('alert_chart_days') - 1)
    GROUP BY r.vendor_id, r.day
)

SELECT * FROM final;

COMMENT ON TABLE marts.digest_latency IS 'Chart data of the daily digest: daily median business response time of the vendor side (direction vendor_response, by answer day) per configured vendor, over the [alerts] chart_days company-local days ending the report day D. Only days with responses have a row. Grain: (vendor_id, day).';
COMMENT ON COLUMN marts.digest_latency.vendor_id IS 'The configured vendor.';
COMMENT ON COLUMN marts.digest_latency.day IS 'The company-local day the responses were answered (D - chart_days + 1 .. D).';
COMMENT ON COLUMN marts.digest_latency.median_business_minutes IS 'Median business minutes (quantile_cont 0.5) of the vendor''s responses answered that day, all channels.';
COMMENT ON COLUMN marts.digest_latency.responses IS 'Vendor responses answered that day.';
