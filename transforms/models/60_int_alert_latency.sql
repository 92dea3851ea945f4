-- latency_drift (the vendor answers slower than its own normal) and company_latency_drift (the company answers this
-- vendor slower than its own normal: "waiting on us"), per report day. The window's median counts the requests still
-- open with their wait so far, and the baseline is the same side's own median, so a structurally slow vendor is at
-- its normal and stays ok. Critical when materially worse: alert_drift_critical_factor x the baseline.
CREATE OR REPLACE TABLE intermediate.int_alert_latency AS
WITH
tested AS (
    SELECT
        *,
        -- How likely a window of this many observations at the side's normal would have a median this high: at
        -- least half of them above it, each with the baseline's share above it (smoothed).
        binomial_upper_tail(
            ceil(window_observations / 2.0),
            window_observations,
            (baseline_answers_above + 0.5) / (baseline_answers + 1.0)
        ) AS p_value
    FROM intermediate.int_alert_windows
    WHERE window_observations >= getvariable('alert_drift_min_responses')
      AND baseline_answers >= getvariable('alert_drift_min_responses')
),

checked AS (
    SELECT
        *,
        p_value < getvariable('alert_significance')
            AND window_median >= getvariable('alert_drift_factor') * baseline_median
            AND window_median - baseline_median >= getvariable('alert_drift_min_minutes') AS fires,
        window_median >= getvariable('alert_drift_critical_factor') * baseline_median AS materially_worse
    FROM tested
),

final AS (
    SELECT
        day,
        vendor_id,
        CASE responder WHEN 'vendor' THEN 'latency_drift' ELSE 'company_latency_drift' END AS rule,
        responder AS subject,
        CASE WHEN materially_worse THEN 'critical' ELSE 'warning' END AS severity,
        'median_business_minutes' AS metric,
        window_median AS value,
        getvariable('alert_drift_factor') * baseline_median AS threshold,
        baseline_median AS baseline,
        p_value,
        printf(
            '%s %.1f business hours (median of the last %d report days, open requests counted with their wait '
            || 'so far) against %.1f usually',
            CASE responder WHEN 'vendor' THEN 'Answers take' ELSE 'Our answers take' END,
            window_median / 60.0,
            getvariable('alert_window_days'),
            baseline_median / 60.0
        ) AS summary
    FROM checked
    WHERE fires
)

SELECT * FROM final;

COMMENT ON TABLE intermediate.int_alert_latency IS 'Staging: latency_drift (subject vendor) and company_latency_drift (subject company) per report day where they fire: int_alert_windows.window_median >= [alerts] drift_factor x baseline_median and at least drift_min_minutes more, with at least drift_min_responses observations in the window and answers in the baseline, and a window that unlikely at the side''s normal (p_value < significance); critical at drift_critical_factor x the baseline. Grain: (day, vendor_id, rule).';
COMMENT ON COLUMN intermediate.int_alert_latency.p_value IS 'How likely a window of as many observations at the side''s normal would have a median this high: P(Binomial(n, q) >= n/2), q = the share of baseline answers slower than the window median (smoothed).';
COMMENT ON COLUMN intermediate.int_alert_latency.subject IS 'vendor or company: whose answers are slower (company: waiting on us).';
COMMENT ON COLUMN intermediate.int_alert_latency.value IS 'Median business minutes of the window (answers and open waits).';
COMMENT ON COLUMN intermediate.int_alert_latency.threshold IS 'drift_factor x baseline median.';
COMMENT ON COLUMN intermediate.int_alert_latency.baseline IS 'Baseline median business minutes of the same side''s answers.';
COMMENT ON COLUMN intermediate.int_alert_latency.day IS 'The report day.';
COMMENT ON COLUMN intermediate.int_alert_latency.metric IS 'What value measures: median_business_minutes.';
COMMENT ON COLUMN intermediate.int_alert_latency.rule IS 'The rule: latency_drift or company_latency_drift.';
COMMENT ON COLUMN intermediate.int_alert_latency.severity IS 'warning or critical.';
COMMENT ON COLUMN intermediate.int_alert_latency.summary IS 'One English sentence built from the numbers only.';
COMMENT ON COLUMN intermediate.int_alert_latency.vendor_id IS 'The configured vendor.';
