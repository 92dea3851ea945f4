-- misunderstanding_spike: more confusion than the exchange's own normal, per report day: clarification, rework,
-- repetition and info requests (both sides) in the detection window against what the baseline rate (or a floor,
-- so that a quiet baseline does not make two questions a spike) gives for the window's messages.
CREATE OR REPLACE TABLE intermediate.int_alert_confusion AS
WITH
expected AS (
    SELECT
        *,
        window_messages * greatest(
            CASE WHEN baseline_messages > 0 THEN baseline_confusion::DOUBLE / baseline_messages ELSE 0 END,
            getvariable('alert_spike_floor_per_100') / 100.0
        ) AS expected_confusion
    FROM intermediate.int_alert_signals
),

final AS (
    SELECT
        day,
        vendor_id,
        'misunderstanding_spike' AS rule,
        'vendor' AS subject,
        CASE
            WHEN window_confusion >= getvariable('alert_spike_critical_factor') * expected_confusion
                AND window_confusion >= 2 * getvariable('alert_spike_min_signals') THEN 'critical'
            ELSE 'warning'
        END AS severity,
        'confusion_per_100_messages' AS metric,
        100.0 * window_confusion / window_messages AS value,
        100.0 * getvariable('alert_spike_factor') * expected_confusion / window_messages AS threshold,
        CASE WHEN baseline_messages > 0 THEN 100.0 * baseline_confusion / baseline_messages ELSE 0 END AS baseline,
        poisson_upper_tail(window_confusion, expected_confusion) AS p_value,
        printf(
            '%d clarification, rework, repetition or info signals in the last %d report days (%.1f per 100 '
            || 'messages) against %.1f per 100 usually',
            window_confusion,
            getvariable('alert_window_days'),
            100.0 * window_confusion / window_messages,
            CASE WHEN baseline_messages > 0 THEN 100.0 * baseline_confusion / baseline_messages ELSE 0 END
        ) AS summary
    FROM expected
    WHERE window_confusion >= getvariable('alert_spike_min_signals')
      AND window_messages > 0
      AND window_confusion >= getvariable('alert_spike_factor') * expected_confusion
      AND poisson_upper_tail(window_confusion, expected_confusion) < getvariable('alert_significance')
)

SELECT * FROM final;

COMMENT ON TABLE intermediate.int_alert_confusion IS 'Staging: misunderstanding_spike per report day where it fires: confusion signals (clarification, rework, repetition, info_request; both sides) in the detection window >= [alerts] spike_min_signals and >= spike_factor x the window''s messages x max(baseline rate, spike_floor_per_100 / 100), and that many unlikely at that rate (Poisson upper tail < significance); critical at spike_critical_factor x that and twice spike_min_signals. Grain: (day, vendor_id, rule).';
COMMENT ON COLUMN intermediate.int_alert_confusion.value IS 'Confusion signals per 100 counted messages in the detection window.';
COMMENT ON COLUMN intermediate.int_alert_confusion.threshold IS 'The rate the window had to reach: spike_factor x max(baseline rate, floor), per 100 messages.';
COMMENT ON COLUMN intermediate.int_alert_confusion.p_value IS 'How likely that many signals are at the expected rate: P(Poisson(expected) >= signals).';
COMMENT ON COLUMN intermediate.int_alert_confusion.baseline IS 'Confusion signals per 100 counted messages in the baseline.';
COMMENT ON COLUMN intermediate.int_alert_confusion.day IS 'The report day.';
COMMENT ON COLUMN intermediate.int_alert_confusion.metric IS 'What value measures: confusion_per_100_messages.';
COMMENT ON COLUMN intermediate.int_alert_confusion.rule IS 'The rule: misunderstanding_spike.';
COMMENT ON COLUMN intermediate.int_alert_confusion.severity IS 'warning or critical.';
COMMENT ON COLUMN intermediate.int_alert_confusion.subject IS 'vendor (the vendor is the problem) or company (waiting on us).';
COMMENT ON COLUMN intermediate.int_alert_confusion.summary IS 'One English sentence built from the numbers only.';
COMMENT ON COLUMN intermediate.int_alert_confusion.vendor_id IS 'The configured vendor.';
