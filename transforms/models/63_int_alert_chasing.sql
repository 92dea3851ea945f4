-- chasing: the company chases the vendor (nudges, escalations) more than its own normal, per report day.
CREATE OR REPLACE TABLE intermediate.int_alert_chasing AS
WITH
expected AS (
    SELECT
        *,
        greatest(baseline_chasers * window_share, getvariable('alert_chase_floor')) AS expected_chasers
    FROM intermediate.int_alert_signals
),

final AS (
    SELECT
        day,
        vendor_id,
        'chasing' AS rule,
        'vendor' AS subject,
        'warning' AS severity,
        'company_chasers' AS metric,
        window_chasers::DOUBLE AS value,
        getvariable('alert_chase_factor') * expected_chasers AS threshold,
        baseline_chasers * window_share AS baseline,
        poisson_upper_tail(window_chasers, expected_chasers) AS p_value,
        printf(
            'We chased %d times in the last %d report days (nudges, escalations) against %.1f usually',
            window_chasers,
            getvariable('alert_window_days'),
            baseline_chasers * window_share
        ) AS summary
    FROM expected
    WHERE window_chasers >= getvariable('alert_chase_min')
      AND window_chasers >= getvariable('alert_chase_factor') * expected_chasers
      AND poisson_upper_tail(window_chasers, expected_chasers) < getvariable('alert_significance')
)

SELECT * FROM final;

COMMENT ON TABLE intermediate.int_alert_chasing IS 'Staging: chasing per report day where it fires: the company''s nudges and escalations to the vendor in the detection window >= [alerts] chase_min and >= chase_factor x max(what the baseline pace gives, chase_floor), and that many unlikely at that pace (Poisson upper tail < significance). Grain: (day, vendor_id, rule).';
COMMENT ON COLUMN intermediate.int_alert_chasing.value IS 'The company''s chasers in the detection window.';
COMMENT ON COLUMN intermediate.int_alert_chasing.threshold IS 'chase_factor x max(baseline pace, chase_floor).';
COMMENT ON COLUMN intermediate.int_alert_chasing.p_value IS 'How likely that many chasers are at the expected pace: P(Poisson(expected) >= chasers).';
COMMENT ON COLUMN intermediate.int_alert_chasing.baseline IS 'Chasers the window would hold at the baseline''s pace.';
COMMENT ON COLUMN intermediate.int_alert_chasing.day IS 'The report day.';
COMMENT ON COLUMN intermediate.int_alert_chasing.metric IS 'What value measures: company_chasers.';
COMMENT ON COLUMN intermediate.int_alert_chasing.rule IS 'The rule: chasing.';
COMMENT ON COLUMN intermediate.int_alert_chasing.severity IS 'warning or critical.';
COMMENT ON COLUMN intermediate.int_alert_chasing.subject IS 'vendor (the vendor is the problem) or company (waiting on us).';
COMMENT ON COLUMN intermediate.int_alert_chasing.summary IS 'One English sentence built from the numbers only.';
COMMENT ON COLUMN intermediate.int_alert_chasing.vendor_id IS 'The configured vendor.';
