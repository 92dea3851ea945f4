-- The per-vendor numbers of the daily digest for the report day D = getvariable('report_day'): one row per
-- configured vendor, even without any data. Recent window = the alert_recent_days company-local days ending D;
-- baseline = the alert_baseline_days days before it (the same windows as marts.alerts).
CREATE OR REPLACE TABLE marts.digest_vendors AS
WITH
vendors AS (
    SELECT
        party_id AS vendor_id,
        name AS vendor_name
    FROM marts.parties
    WHERE kind = 'vendor'
),

recent_responses AS (
    SELECT
        vendor_id,
        quantile_cont(business_minutes, 0.5) FILTER (WHERE direction = 'vendor_response') AS vendor_median_minutes,
        quantile_cont(business_minutes, 0.9) FILTER (WHERE direction = 'vendor_response') AS vendor_p90_minutes,
        quantile_cont(business_minutes, 0.5) FILTER (WHERE direction = 'company_response') AS company_median_minutes,
        quantile_cont(business_minutes, 0.9) FILTER (WHERE direction = 'company_response') AS company_p90_minutes,
        count(*) FILTER (WHERE direction = 'vendor_response') AS vendor_responses,
        count(*) FILTER (WHERE direction = 'company_response') AS company_responses,
        count(*) FILTER (
            WHERE direction = 'vendor_response' AND sla_breached AND day = getvariable('report_day')
        ) AS sla_breaches
    FROM marts.responses
    WHERE day <= getvariable('report_day')
      AND day >= getvariable('report_day') - (getvariable('alert_recent_days') - 1)
    GROUP BY vendor_id
),

overdue AS (
    SELECT
        vendor_id,
        count(*) FILTER (WHERE waiting_on = 'vendor') AS overdue_on_vendor,
        count(*) FILTER (WHERE waiting_on = 'company') AS overdue_on_company
    FROM marts.awaiting AS a
    WHERE sla_breached
      -- a dismissed item is not counted as overdue (marts.dismissed_alerts counts it)
      AND NOT EXISTS (
          SELECT 1 FROM marts.dismissals AS d
          WHERE d.target = 'item'
            AND d.conversation_key = a.conversation_key
            AND d.request_message_key = a.request_message_key
      )
    GROUP BY vendor_id
),

dismissed AS (
    SELECT vendor_id, count(*) AS dismissed
    FROM marts.dismissed_alerts
    GROUP BY vendor_id
),

vendor_days AS (
    SELECT
        vendor_id,
        signals,
        messages,
        day >= getvariable('report_day') - (getvariable('alert_recent_days') - 1) AS is_recent
    FROM marts.vendor_daily
    WHERE day <= getvariable('report_day')
      AND day >= getvariable('report_day')
          - (getvariable('alert_recent_days') + getvariable('alert_baseline_days') - 1)
),

signal_windows AS (
    SELECT
        vendor_id,
        sum(signals) FILTER (WHERE is_recent) AS recent_signals,
        sum(messages) FILTER (WHERE is_recent) AS recent_messages,
        sum(signals) FILTER (WHERE NOT is_recent) AS baseline_signals,
        sum(messages) FILTER (WHERE NOT is_recent) AS baseline_messages
    FROM vendor_days
    GROUP BY vendor_id
),

vendor_alerts AS (
    SELECT
        vendor_id,
        count(*) FILTER (WHERE subject = 'vendor' AND state <> 'resolved' AND rule <> 'vendor_overdue')
            AS vendor_rules,
        -- critical means act today: a rule newly critical, or an item newly past the critical factor of its SLA
        bool_or(
            (subject = 'vendor' AND rule <> 'vendor_overdue' AND state IN ('new', 'worse') AND severity = 'critical')
            OR (rule = 'vendor_overdue' AND worse_items > 0)
        ) AS act_today,
        count(*) FILTER (WHERE subject = 'company' AND state <> 'resolved') AS waiting_on_us,
        count(*) FILTER (WHERE state <> 'resolved') AS alerts
    FROM marts.alerts
    GROUP BY vendor_id
),

final AS (
    SELECT
        getvariable('report_day')::DATE AS day,
        v.vendor_id,
        v.vendor_name,
        CASE
            WHEN a.act_today THEN 'critical'
            WHEN a.vendor_rules > 0 THEN 'warning'
            ELSE 'ok'
        END AS status,
        coalesce(a.waiting_on_us, 0) > 0 AS waiting_on_us,
        r.vendor_median_minutes,
        r.vendor_p90_minutes,
        r.company_median_minutes,
        r.company_p90_minutes,
        coalesce(r.vendor_responses, 0) AS vendor_responses,
        coalesce(r.company_responses, 0) AS company_responses,
        coalesce(r.sla_breaches, 0) AS sla_breaches,
        coalesce(o.overdue_on_vendor, 0) AS overdue_on_vendor,
        coalesce(o.overdue_on_company, 0) AS overdue_on_company,
        coalesce(s.recent_signals, 0)::BIGINT AS signals_recent,
        CASE WHEN s.recent_messages > 0 THEN 100.0 * s.recent_signals / s.recent_messages END
            AS signals_per_100_recent,
        CASE WHEN s.baseline_messages > 0 THEN 100.0 * s.baseline_signals / s.baseline_messages END
            AS signals_per_100_baseline,
        coalesce(a.alerts, 0) AS alerts,
        coalesce(x.dismissed, 0) AS dismissed
    FROM vendors AS v
    LEFT JOIN recent_responses AS r ON r.vendor_id = v.vendor_id
    LEFT JOIN overdue AS o ON o.vendor_id = v.vendor_id
    LEFT JOIN signal_windows AS s ON s.vendor_id = v.vendor_id
    LEFT JOIN vendor_alerts AS a ON a.vendor_id = v.vendor_id
    LEFT JOIN dismissed AS x ON x.vendor_id = v.vendor_id
)

SELECT * FROM final;

COMMENT ON TABLE marts.digest_vendors IS 'The daily digest, per vendor, for the report day D (company-local date of as_of - 1 microsecond): one row per configured vendor, even without data (status ok, counts 0, medians NULL). Recent window = the [alerts] recent_days company-local days ending D; baseline window = the baseline_days days before it. Feeds connectors.slack.digest.VendorDigest. Grain: (vendor_id).';
COMMENT ON COLUMN marts.digest_vendors.day IS 'The report day D.';
COMMENT ON COLUMN marts.digest_vendors.vendor_id IS 'The configured vendor.';
COMMENT ON COLUMN marts.digest_vendors.vendor_name IS 'The vendor''s display name from the config.';
COMMENT ON COLUMN marts.digest_vendors.status IS 'The judgement on the vendor for D against its own baseline: critical (act today: a vendor rule newly critical on D, or an item waiting on the vendor newly past overdue_critical_factor x its SLA), warning (a vendor rule fires: latency_drift, silence, misunderstanding_spike, chasing), else ok. Items merely overdue and everything waiting on us never colour the vendor.';
COMMENT ON COLUMN marts.digest_vendors.waiting_on_us IS 'True when something about our own side fires for this vendor: company_latency_drift or items waiting on us past their SLA (shown apart, never in status).';
COMMENT ON COLUMN marts.digest_vendors.vendor_median_minutes IS 'Median business minutes (quantile_cont 0.5) of the vendor''s responses (vendor_response) answered in the recent window; NULL without responses.';
COMMENT ON COLUMN marts.digest_vendors.vendor_p90_minutes IS '90th percentile (quantile_cont 0.9) of business minutes of the vendor''s responses answered in the recent window; NULL without responses.';
COMMENT ON COLUMN marts.digest_vendors.company_median_minutes IS 'Median business minutes (quantile_cont 0.5) of the company''s responses to this vendor (company_response) answered in the recent window; NULL without responses.';
COMMENT ON COLUMN marts.digest_vendors.company_p90_minutes IS '90th percentile (quantile_cont 0.9) of business minutes of the company''s responses to this vendor answered in the recent window; NULL without responses.';
COMMENT ON COLUMN marts.digest_vendors.vendor_responses IS 'Vendor responses (vendor_response) answered in the recent window.';
COMMENT ON COLUMN marts.digest_vendors.company_responses IS 'Company responses to this vendor (company_response) answered in the recent window.';
COMMENT ON COLUMN marts.digest_vendors.sla_breaches IS 'Vendor responses answered on D over the vendor''s SLA.';
COMMENT ON COLUMN marts.digest_vendors.overdue_on_vendor IS 'Awaiting items (marts.awaiting, at as_of) waiting on the vendor past its SLA, except those dismissed (marts.dismissals).';
COMMENT ON COLUMN marts.digest_vendors.overdue_on_company IS 'Awaiting items (marts.awaiting, at as_of) waiting on the company past its SLA, except those dismissed (marts.dismissals).';
COMMENT ON COLUMN marts.digest_vendors.signals_recent IS 'Misunderstanding signals in the counted messages of both sides (all channels) sent in the recent window.';
COMMENT ON COLUMN marts.digest_vendors.signals_per_100_recent IS '100 x signals / counted messages (both sides, all channels) over the recent window; NULL without messages.';
COMMENT ON COLUMN marts.digest_vendors.signals_per_100_baseline IS '100 x signals / counted messages (both sides, all channels) over the baseline window; NULL without messages (the misunderstanding_spike rule then uses 0).';
COMMENT ON COLUMN marts.digest_vendors.alerts IS 'Alerts of the vendor on D that are not resolved (rows of marts.alerts), both subjects.';
COMMENT ON COLUMN marts.digest_vendors.dismissed IS 'Rules and overdue items of the vendor that users dismissed and that would have alerted on D (rows of marts.dismissed_alerts): they count in neither alerts nor status.';
