-- silence: the vendor goes quiet, per report day. Its answers dry up against the pace of its baseline while
-- requests wait; or more of its requests go unanswered past its usual answer time than its baseline leaves (a
-- binomial tail), some of them still waiting (this shows within a day of that time, before the answers have visibly
-- dried up); or several requests wait far longer than its usual (twice its baseline p90 and past the SLA).
CREATE OR REPLACE TABLE intermediate.int_alert_silence AS
WITH
checked AS (
    SELECT
        *,
        expected_window_answers >= getvariable('alert_silence_min_expected')
            AND window_answers <= getvariable('alert_silence_share') * expected_window_answers
            AND poisson_lower_tail(window_answers, expected_window_answers)
            < getvariable('alert_silence_dried_up_significance')
            AND open_requests >= 2 AS answers_dried_up,
        long_open_requests >= getvariable('alert_silence_min_items') AS requests_pile_up,
        -- still unanswered: answers that come, only slower, are latency_drift's
        window_late_open_requests >= getvariable('alert_silence_min_late')
            AND binomial_upper_tail(
                window_late_requests,
                window_due_requests,
                (baseline_late_requests + 0.5) / (baseline_due_requests + 1.0)
            ) < getvariable('alert_silence_late_significance') AS requests_late
    FROM intermediate.int_alert_windows
    WHERE responder = 'vendor'
),

final AS (
    SELECT
        day,
        vendor_id,
        'silence' AS rule,
        'vendor' AS subject,
        'warning' AS severity,
        'answers_in_window' AS metric,
        window_answers::DOUBLE AS value,
        getvariable('alert_silence_share') * expected_window_answers AS threshold,
        expected_window_answers AS baseline,
        poisson_lower_tail(window_answers, expected_window_answers) AS p_value,
        CASE
            WHEN answers_dried_up THEN printf(
                '%d answers in the last %d report days where its usual pace gives %.1f; %d requests are waiting',
                window_answers,
                getvariable('alert_window_days'),
                expected_window_answers,
                open_requests
            )
            WHEN requests_late THEN printf(
                '%d of the %d requests that reached %.1f business hours in the last %d report days were not '
                || 'answered by then (%d still wait), where usually %d of %d are',
                window_late_requests,
                window_due_requests,
                late_minutes / 60.0,
                getvariable('alert_window_days'),
                window_late_open_requests,
                baseline_late_requests,
                baseline_due_requests
            )
            ELSE printf(
                '%d requests have waited longer than twice its usual (p90 %.1f business hours) and past the SLA',
                long_open_requests,
                coalesce(baseline_p90, 0) / 60.0
            )
        END AS summary
    FROM checked
    WHERE answers_dried_up OR requests_pile_up OR requests_late
)

SELECT * FROM final;

COMMENT ON TABLE intermediate.int_alert_silence IS 'Staging: silence per report day where it fires: the vendor''s answers in the detection window <= [alerts] silence_share x what its baseline pace gives (at least silence_min_expected; that few answers unlikely at its pace: Poisson lower tail < silence_dried_up_significance) while at least 2 requests wait; or of the requests whose wait reached int_alert_windows.late_minutes in the window, more were not answered by then than is likely at the baseline''s share of late requests (binomial upper tail < silence_late_significance), at least silence_min_late of them still unanswered at the end of the day; or at least silence_min_items requests wait longer than twice its baseline p90 and its SLA. Grain: (day, vendor_id, rule).';
COMMENT ON COLUMN intermediate.int_alert_silence.value IS 'Answers given in the detection window.';
COMMENT ON COLUMN intermediate.int_alert_silence.threshold IS 'silence_share x expected answers.';
COMMENT ON COLUMN intermediate.int_alert_silence.p_value IS 'How likely so few answers are at the vendor''s pace: P(Poisson(expected) <= answers).';
COMMENT ON COLUMN intermediate.int_alert_silence.baseline IS 'Answers the window would hold at the baseline''s pace.';
COMMENT ON COLUMN intermediate.int_alert_silence.day IS 'The report day.';
COMMENT ON COLUMN intermediate.int_alert_silence.metric IS 'What value measures: answers_in_window.';
COMMENT ON COLUMN intermediate.int_alert_silence.rule IS 'The rule: silence.';
COMMENT ON COLUMN intermediate.int_alert_silence.severity IS 'warning or critical.';
COMMENT ON COLUMN intermediate.int_alert_silence.subject IS 'vendor (the vendor is the problem) or company (waiting on us).';
COMMENT ON COLUMN intermediate.int_alert_silence.summary IS 'One English sentence built from the numbers only.';
COMMENT ON COLUMN intermediate.int_alert_silence.vendor_id IS 'The configured vendor.';
