-- What each alert rule reads, per report day, vendor and responding side: answers and open requests in the
-- detection window against the baseline before it. A request still open at the end of the day counts with its wait
-- so far (a lower bound of its answer time), so a vendor that stops answering shows at once instead of when the
-- late answers finally come.
CREATE OR REPLACE TABLE intermediate.int_alert_windows AS
WITH
grid AS (
    SELECT
        d.day,
        d.ends_at,
        d.window_starts_at,
        d.baseline_starts_at,
        p.party_id AS vendor_id,
        s.side AS responder
    FROM intermediate.int_report_days AS d
    CROSS JOIN (SELECT party_id FROM marts.parties WHERE kind = 'vendor') AS p
    CROSS JOIN (VALUES ('vendor'), ('company')) AS s(side)
),

-- The responder's business time in the baseline and in the window: a vendor closed for a week is expected to
-- answer nothing that week, not to have gone silent.
clock_points AS (
    SELECT
        g.day,
        g.vendor_id,
        g.responder,
        p.point,
        business_us_at(c.worked_before_us, c.start_us, c.end_us, p.point_at) AS worked_us
    FROM grid AS g
    CROSS JOIN LATERAL (
        VALUES ('baseline_start', g.baseline_starts_at), ('window_start', g.window_starts_at), ('end', g.ends_at)
    ) AS p(point, point_at)
    ASOF LEFT JOIN intermediate.int_business_clock AS c
        ON c.party_kind = g.responder
       AND c.party_id = CASE g.responder WHEN 'vendor' THEN g.vendor_id ELSE 'company' END
       AND p.point_at >= c.start_utc
),

clock_by_day AS (
    SELECT
        day,
        vendor_id,
        responder,
        max(worked_us) FILTER (WHERE point = 'baseline_start') AS baseline_start_us,
        max(worked_us) FILTER (WHERE point = 'window_start') AS window_start_us,
        max(worked_us) FILTER (WHERE point = 'end') AS end_us
    FROM clock_points
    GROUP BY ALL
),

business_time AS (
    SELECT
        day,
        vendor_id,
        responder,
        window_start_us - baseline_start_us AS baseline_us,
        end_us - window_start_us AS window_us
    FROM clock_by_day
),

answers AS (
    SELECT
        g.day,
        g.vendor_id,
        g.responder,
        q.answered_business_minutes AS minutes,
        q.responded_at > g.window_starts_at AS in_window
    FROM grid AS g
    INNER JOIN intermediate.int_requests AS q
        ON q.vendor_id = g.vendor_id
       AND q.waiting_on = g.responder
       AND q.responded_at > g.baseline_starts_at
       AND q.responded_at <= g.ends_at
),

asked AS (
    SELECT
        g.day,
        g.vendor_id,
        g.responder,
        count(*) FILTER (WHERE q.requested_at > g.window_starts_at) AS window_requests,
        count(*) FILTER (WHERE q.requested_at <= g.window_starts_at) AS baseline_requests
    FROM grid AS g
    INNER JOIN intermediate.int_requests AS q
        ON q.vendor_id = g.vendor_id
       AND q.waiting_on = g.responder
       AND q.requested_at > g.baseline_starts_at
       AND q.requested_at <= g.ends_at
    GROUP BY ALL
),

open_requests AS (
    SELECT
        g.day,
        g.ends_at,
        g.vendor_id,
        g.responder,
        q.waiting_party,
        q.worked_at_request_us,
        q.sla_minutes
    FROM grid AS g
    INNER JOIN intermediate.int_requests AS q
        ON q.vendor_id = g.vendor_id
       AND q.waiting_on = g.responder
       AND q.requested_at <= g.ends_at
       AND q.requested_at > g.ends_at - to_days(getvariable('awaiting_lookback_days'))
       AND (q.responded_at IS NULL OR q.responded_at > g.ends_at)
),

open_waits AS (
    SELECT
        o.day,
        o.vendor_id,
        o.responder,
        o.sla_minutes,
        (business_us_at(c.worked_before_us, c.start_us, c.end_us, o.ends_at)
            - o.worked_at_request_us) / 60e6 AS minutes
    FROM open_requests AS o
    ASOF LEFT JOIN intermediate.int_business_clock AS c
        ON c.party_kind = o.responder
       AND c.party_id = o.waiting_party
       AND o.ends_at >= c.start_utc
),

baselines AS (
    SELECT
        day,
        vendor_id,
        responder,
        count(*) FILTER (WHERE NOT in_window) AS baseline_answers,
        quantile_cont(minutes, 0.5) FILTER (WHERE NOT in_window) AS baseline_median,
        quantile_cont(minutes, 0.9) FILTER (WHERE NOT in_window) AS baseline_p90,
        quantile_cont(minutes, getvariable('alert_silence_late_quantile')) FILTER (WHERE NOT in_window)
            AS late_minutes,
        count(*) FILTER (WHERE in_window) AS window_answers
    FROM answers
    GROUP BY ALL
),

-- The window's observations: answers given in it and the waits of the requests still open at its end.
observations AS (
    SELECT day, vendor_id, responder, minutes FROM answers WHERE in_window
    UNION ALL
    SELECT day, vendor_id, responder, minutes FROM open_waits
),

window_latency AS (
    SELECT
        day,
        vendor_id,
        responder,
        count(*) AS window_observations,
        quantile_cont(minutes, 0.5) AS window_median
    FROM observations
    GROUP BY ALL
),

-- How often the baseline answered slower than the window's median: a window at the vendor's normal has its
-- median above that many of them about half the time (int_alert_latency tests it).
baseline_above AS (
    SELECT
        a.day,
        a.vendor_id,
        a.responder,
        count(*) AS answers_above_window_median
    FROM answers AS a
    INNER JOIN window_latency AS l ON l.day = a.day AND l.vendor_id = a.vendor_id AND l.responder = a.responder
    WHERE NOT a.in_window AND a.minutes > l.window_median
    GROUP BY ALL
),

open_counts AS (
    SELECT
        w.day,
        w.vendor_id,
        w.responder,
        count(*) AS open_requests,
        count(*) FILTER (WHERE w.minutes > greatest(w.sla_minutes, 2 * coalesce(b.baseline_p90, 0)))
            AS long_open_requests
    FROM open_waits AS w
    LEFT JOIN baselines AS b ON b.day = w.day AND b.vendor_id = w.vendor_id AND b.responder = w.responder
    GROUP BY ALL
),

-- Each request comes due at late_minutes of the responder's business time after it was asked; it is late when it
-- was not answered by then. At the responder's normal a request is late with the baseline's share of late
-- requests, so several late ones in the window are a binomial tail (int_alert_silence tests it): a vendor that
-- leaves requests unanswered shows within a day of its usual answer time, not when its answers have dried up.
request_due_times AS (
    SELECT
        g.day,
        g.ends_at,
        g.vendor_id,
        g.responder,
        k.window_start_us,
        k.baseline_start_us,
        k.end_us,
        b.late_minutes,
        q.responded_at,
        q.answered_business_minutes,
        q.worked_at_request_us + (b.late_minutes * 60e6)::BIGINT AS due_us
    FROM grid AS g
    INNER JOIN baselines AS b ON b.day = g.day AND b.vendor_id = g.vendor_id AND b.responder = g.responder
    INNER JOIN clock_by_day AS k ON k.day = g.day AND k.vendor_id = g.vendor_id AND k.responder = g.responder
    INNER JOIN intermediate.int_requests AS q
        ON q.vendor_id = g.vendor_id
       AND q.waiting_on = g.responder
       AND q.requested_at <= g.ends_at
),

due_requests AS (
    SELECT
        day,
        vendor_id,
        responder,
        due_us > window_start_us AS in_window,
        responded_at IS NULL
            OR responded_at > ends_at
            OR answered_business_minutes > late_minutes AS late,
        responded_at IS NULL OR responded_at > ends_at AS still_open
    FROM request_due_times
    WHERE due_us > baseline_start_us AND due_us <= end_us
),

lateness AS (
    SELECT
        day,
        vendor_id,
        responder,
        count(*) FILTER (WHERE in_window) AS window_due_requests,
        count(*) FILTER (WHERE in_window AND late) AS window_late_requests,
        count(*) FILTER (WHERE in_window AND late AND still_open) AS window_late_open_requests,
        count(*) FILTER (WHERE NOT in_window) AS baseline_due_requests,
        count(*) FILTER (WHERE NOT in_window AND late) AS baseline_late_requests
    FROM due_requests
    GROUP BY ALL
),

final AS (
    SELECT
        g.day,
        g.vendor_id,
        g.responder,
        coalesce(b.window_answers, 0) AS window_answers,
        coalesce(l.window_observations, 0) AS window_observations,
        l.window_median,
        coalesce(o.open_requests, 0) AS open_requests,
        coalesce(o.long_open_requests, 0) AS long_open_requests,
        coalesce(a.window_requests, 0) AS window_requests,
        coalesce(b.baseline_answers, 0) AS baseline_answers,
        coalesce(x.answers_above_window_median, 0) AS baseline_answers_above,
        b.baseline_median,
        b.baseline_p90,
        b.late_minutes,
        coalesce(n.window_due_requests, 0) AS window_due_requests,
        coalesce(n.window_late_requests, 0) AS window_late_requests,
        coalesce(n.window_late_open_requests, 0) AS window_late_open_requests,
        coalesce(n.baseline_due_requests, 0) AS baseline_due_requests,
        coalesce(n.baseline_late_requests, 0) AS baseline_late_requests,
        coalesce(a.baseline_requests, 0) AS baseline_requests,
        -- answers the window's business time brings at the baseline's pace
        CASE
            WHEN t.baseline_us > 0 THEN coalesce(b.baseline_answers, 0) * t.window_us / t.baseline_us
            ELSE 0
        END AS expected_window_answers
    FROM grid AS g
    LEFT JOIN baselines AS b ON b.day = g.day AND b.vendor_id = g.vendor_id AND b.responder = g.responder
    LEFT JOIN business_time AS t ON t.day = g.day AND t.vendor_id = g.vendor_id AND t.responder = g.responder
    LEFT JOIN window_latency AS l ON l.day = g.day AND l.vendor_id = g.vendor_id AND l.responder = g.responder
    LEFT JOIN open_counts AS o ON o.day = g.day AND o.vendor_id = g.vendor_id AND o.responder = g.responder
    LEFT JOIN asked AS a ON a.day = g.day AND a.vendor_id = g.vendor_id AND a.responder = g.responder
    LEFT JOIN baseline_above AS x ON x.day = g.day AND x.vendor_id = g.vendor_id AND x.responder = g.responder
    LEFT JOIN lateness AS n ON n.day = g.day AND n.vendor_id = g.vendor_id AND n.responder = g.responder
)

SELECT * FROM final;

COMMENT ON TABLE intermediate.int_alert_windows IS 'Staging: what the latency and silence rules read, per report day, vendor and responding side (responder vendor: the vendor answering the company; company: the company answering the vendor). Detection window = (int_report_days.window_starts_at, ends_at]; baseline = (baseline_starts_at, window_starts_at]. Grain: (day, vendor_id, responder).';
COMMENT ON COLUMN intermediate.int_alert_windows.day IS 'The report day.';
COMMENT ON COLUMN intermediate.int_alert_windows.vendor_id IS 'The configured vendor.';
COMMENT ON COLUMN intermediate.int_alert_windows.responder IS 'vendor or company: the side whose answers are measured.';
COMMENT ON COLUMN intermediate.int_alert_windows.window_answers IS 'Answers given in the detection window (int_requests.responded_at in it).';
COMMENT ON COLUMN intermediate.int_alert_windows.window_observations IS 'window_answers plus the requests still open at the end of the day (asked within awaiting_lookback_days).';
COMMENT ON COLUMN intermediate.int_alert_windows.window_median IS 'Median business minutes over the window''s observations: the answers'' times and the open requests'' waits so far (lower bounds).';
COMMENT ON COLUMN intermediate.int_alert_windows.open_requests IS 'Requests waiting on the responder at the end of the day (asked within awaiting_lookback_days).';
COMMENT ON COLUMN intermediate.int_alert_windows.long_open_requests IS 'Of those, the ones waiting longer than both the SLA and twice the baseline p90.';
COMMENT ON COLUMN intermediate.int_alert_windows.window_requests IS 'Requests to the responder asked in the detection window.';
COMMENT ON COLUMN intermediate.int_alert_windows.baseline_answers IS 'Answers given in the baseline.';
COMMENT ON COLUMN intermediate.int_alert_windows.baseline_answers_above IS 'Baseline answers slower than window_median.';
COMMENT ON COLUMN intermediate.int_alert_windows.baseline_median IS 'Median business minutes of the answers given in the baseline.';
COMMENT ON COLUMN intermediate.int_alert_windows.baseline_p90 IS '90th percentile of business minutes of the answers given in the baseline.';
COMMENT ON COLUMN intermediate.int_alert_windows.late_minutes IS 'The [alerts] silence_late_quantile of the business minutes of the answers given in the baseline: a request not answered within this is late.';
COMMENT ON COLUMN intermediate.int_alert_windows.window_due_requests IS 'Requests to the responder whose wait reached late_minutes (of the responder''s business time) in the detection window.';
COMMENT ON COLUMN intermediate.int_alert_windows.window_late_requests IS 'Of those, the ones not answered by then.';
COMMENT ON COLUMN intermediate.int_alert_windows.window_late_open_requests IS 'Of the late ones, those still unanswered at the end of the day.';
COMMENT ON COLUMN intermediate.int_alert_windows.baseline_due_requests IS 'Requests to the responder whose wait reached late_minutes in the baseline.';
COMMENT ON COLUMN intermediate.int_alert_windows.baseline_late_requests IS 'Of those, the ones not answered by then.';
COMMENT ON COLUMN intermediate.int_alert_windows.baseline_requests IS 'Requests to the responder asked in the baseline.';
COMMENT ON COLUMN intermediate.int_alert_windows.expected_window_answers IS 'Answers the window would bring at the baseline''s pace, in the responder''s business time: baseline_answers x business time in the window / business time in the baseline (0 without business time in the baseline).';
