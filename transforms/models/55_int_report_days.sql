-- The report days the alert rules are evaluated on: the company's working days from the report day D back
-- alert_history_days (and D itself, even when a run reports a day off). Each covers up to the end of its
-- company-local day; its detection window is its last alert_window_days report days, and its baseline the
-- alert_baseline_days calendar days before that window. The alert history (new, ongoing, worse, resolved) is
-- rebuilt from these days at every build, like every mart.
CREATE OR REPLACE TABLE intermediate.int_report_days AS
WITH
working_days AS (
    SELECT DISTINCT day_local AS day
    FROM marts.calendar_intervals
    WHERE party_kind = 'company'
      AND day_local <= getvariable('report_day')
      AND day_local >= getvariable('report_day') - getvariable('alert_history_days')
    UNION
    SELECT getvariable('report_day')::DATE AS day
),

bounded AS (
    SELECT
        day,
        -- the report day ends at as_of when the build runs before its end
        least(timezone(getvariable('company_timezone'), (day + 1)::TIMESTAMP), getvariable('as_of')) AS ends_at,
        lag(day) OVER (ORDER BY day) AS previous_day
    FROM working_days
),

final AS (
    SELECT
        day,
        ends_at,
        previous_day,
        lag(ends_at) OVER (ORDER BY day) AS previous_ends_at,
        -- the window opens at the end of the report day alert_window_days report days earlier
        coalesce(
            lag(ends_at, getvariable('alert_window_days')) OVER (ORDER BY day),
            ends_at - to_days(getvariable('alert_window_days'))
        ) AS window_starts_at,
        day = getvariable('report_day') AS is_report_day
    FROM bounded
)

SELECT
    *,
    window_starts_at - to_days(getvariable('alert_baseline_days')) AS baseline_starts_at
FROM final;

COMMENT ON TABLE intermediate.int_report_days IS 'Staging: the report days the alert rules are evaluated on (the company''s working days from D - [alerts] history_days to D, and D). Grain: (day).';
COMMENT ON COLUMN intermediate.int_report_days.day IS 'A report day (company-local date).';
COMMENT ON COLUMN intermediate.int_report_days.ends_at IS 'The instant the report of that day covers up to: the start of the next company-local day (UTC), or as_of for the report day when the build runs before its end.';
COMMENT ON COLUMN intermediate.int_report_days.previous_day IS 'The report day before (NULL for the first of the range).';
COMMENT ON COLUMN intermediate.int_report_days.previous_ends_at IS 'ends_at of the previous report day: what is new on this day happened in (previous_ends_at, ends_at].';
COMMENT ON COLUMN intermediate.int_report_days.window_starts_at IS 'Start (exclusive) of the detection window: the last [alerts] window_days report days, (window_starts_at, ends_at].';
COMMENT ON COLUMN intermediate.int_report_days.baseline_starts_at IS 'Start (exclusive) of the baseline: the [alerts] baseline_days calendar days before the detection window, (baseline_starts_at, window_starts_at].';
COMMENT ON COLUMN intermediate.int_report_days.is_report_day IS 'True for D, the day this build reports on.';
