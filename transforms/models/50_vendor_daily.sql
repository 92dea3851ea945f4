-- Daily vendor table. Grain: (day, vendor_id, channel, direction). Each direction is attributed to its
-- RESPONDING side: vendor_response rows hold the vendor's answers, the vendor's messages and signals, and the
-- items waiting on the vendor; company_response rows the same for the company. Summing over directions therefore
-- never double-counts a message or a signal.
CREATE OR REPLACE TABLE marts.vendor_daily AS
WITH
directions AS (
    -- the alias d names the columns (sqlfluff reads it as unused)
    SELECT * FROM (VALUES ('vendor', 'vendor_response'), ('company', 'company_response')) AS d(side, direction)  -- noqa: AL05
),

response_stats AS (
    SELECT
        day,
        vendor_id,
        channel,
        direction,
        count(*) AS responses,
        quantile_cont(business_minutes, 0.5) AS median_business_minutes,
        quantile_cont(business_minutes, 0.9) AS p90_business_minutes,
        quantile_cont(wall_minutes, 0.5) AS median_wall_minutes,
        count(*) FILTER (WHERE sla_breached) AS sla_breaches
    FROM marts.responses
    GROUP BY ALL
),

message_counts AS (
    SELECT
        timezone(getvariable('company_timezone'), c.sent_at)::DATE AS day,
        c.vendor_id,
        c.channel,
        d.direction,
        count(*) AS messages
    FROM intermediate.int_counted_messages AS c
    INNER JOIN directions AS d ON d.side = c.side
    GROUP BY ALL
),

signal_counts AS (
    SELECT
        s.day,
        s.vendor_id,
        s.channel,
        d.direction,
        count(*) FILTER (WHERE s.signal = 'clarification') AS clarification,
        count(*) FILTER (WHERE s.signal = 'info_request') AS info_request,
        count(*) FILTER (WHERE s.signal = 'nudge') AS nudge,
        count(*) FILTER (WHERE s.signal = 'repetition') AS repetition,
        count(*) FILTER (WHERE s.signal = 'rework') AS rework,
        count(*) FILTER (WHERE s.signal = 'escalation') AS escalation,
        count(*) AS signals
    FROM marts.message_signals AS s
    INNER JOIN directions AS d ON d.side = s.side
    GROUP BY ALL
),

awaiting_counts AS (
    SELECT
        a.day,
        a.vendor_id,
        a.channel,
        d.direction,
        count(*) AS awaiting_open,
        count(*) FILTER (WHERE a.sla_breached) AS awaiting_breached
    FROM marts.awaiting AS a
    INNER JOIN directions AS d ON d.side = a.waiting_on
    GROUP BY ALL
),

grain AS (
    SELECT day, vendor_id, channel, direction FROM response_stats
    UNION
    SELECT day, vendor_id, channel, direction FROM message_counts
    UNION
    SELECT day, vendor_id, channel, direction FROM signal_counts
    UNION
    SELECT day, vendor_id, channel, direction FROM awaiting_counts
),

final AS (
    SELECT
        g.day,
        g.vendor_id,
        g.channel,
        g.direction,
        coalesce(r.responses, 0) AS responses,
        r.median_business_minutes,
        r.p90_business_minutes,
        r.median_wall_minutes,
        coalesce(r.sla_breaches, 0) AS sla_breaches,
        coalesce(m.messages, 0) AS messages,
        coalesce(s.clarification, 0) AS clarification,
        coalesce(s.info_request, 0) AS info_request,
        coalesce(s.nudge, 0) AS nudge,
        coalesce(s.repetition, 0) AS repetition,
        coalesce(s.rework, 0) AS rework,
        coalesce(s.escalation, 0) AS escalation,
        coalesce(s.signals, 0) AS signals,
        CASE WHEN coalesce(m.messages, 0) > 0 THEN 100.0 * coalesce(s.signals, 0) / m.messages END
            AS signals_per_100_messages,
        coalesce(a.awaiting_open, 0) AS awaiting_open,
        coalesce(a.awaiting_breached, 0) AS awaiting_breached
    FROM grain AS g
    LEFT JOIN response_stats AS r USING (day, vendor_id, channel, direction)
    LEFT JOIN message_counts AS m USING (day, vendor_id, channel, direction)
    LEFT JOIN signal_counts AS s USING (day, vendor_id, channel, direction)
    LEFT JOIN awaiting_counts AS a USING (day, vendor_id, channel, direction)
)

SELECT * FROM final;

COMMENT ON TABLE marts.vendor_daily IS 'Daily metrics per vendor. Grain: (day, vendor_id, channel, direction), day = calendar day in the company''s time zone. Each direction is attributed to its responding side: vendor_response rows count the vendor''s answers (by answer day), the vendor''s counted messages and their signals (by send day), and the items waiting on the vendor (on the as_of day); company_response rows the same for the company. Summing over directions never double-counts. A row exists when any count is non-zero.';
COMMENT ON COLUMN marts.vendor_daily.day IS 'Calendar day in the company''s time zone.';
COMMENT ON COLUMN marts.vendor_daily.vendor_id IS 'The vendor.';
COMMENT ON COLUMN marts.vendor_daily.channel IS 'email, slack or teams.';
COMMENT ON COLUMN marts.vendor_daily.direction IS 'vendor_response (the vendor is the responding side) or company_response (the company is).';
COMMENT ON COLUMN marts.vendor_daily.responses IS 'Responses (marts.responses) of this direction answered that day.';
COMMENT ON COLUMN marts.vendor_daily.median_business_minutes IS 'Median business_minutes of those responses (quantile_cont 0.5); NULL without responses.';
COMMENT ON COLUMN marts.vendor_daily.p90_business_minutes IS '90th percentile of business_minutes of those responses (quantile_cont 0.9); NULL without responses.';
COMMENT ON COLUMN marts.vendor_daily.median_wall_minutes IS 'Median wall_minutes of those responses (quantile_cont 0.5); NULL without responses.';
COMMENT ON COLUMN marts.vendor_daily.sla_breaches IS 'Those responses with sla_breached.';
COMMENT ON COLUMN marts.vendor_daily.messages IS 'Counted messages sent that day by the responding side of this direction (vendor messages on vendor_response rows, company messages on company_response rows).';
COMMENT ON COLUMN marts.vendor_daily.clarification IS 'clarification signals in those messages.';
COMMENT ON COLUMN marts.vendor_daily.info_request IS 'info_request signals in those messages (asks for logs, screenshots, versions, access...).';
COMMENT ON COLUMN marts.vendor_daily.nudge IS 'nudge signals in those messages.';
COMMENT ON COLUMN marts.vendor_daily.repetition IS 'repetition signals in those messages.';
COMMENT ON COLUMN marts.vendor_daily.rework IS 'rework signals in those messages.';
COMMENT ON COLUMN marts.vendor_daily.escalation IS 'escalation signals in those messages.';
COMMENT ON COLUMN marts.vendor_daily.signals IS 'All signals in those messages (a message can carry several signals).';
COMMENT ON COLUMN marts.vendor_daily.signals_per_100_messages IS '100 x signals / messages; NULL when messages = 0.';
COMMENT ON COLUMN marts.vendor_daily.awaiting_open IS 'Awaiting items (marts.awaiting) waiting on the responding side of this direction; placed on the as_of day only.';
COMMENT ON COLUMN marts.vendor_daily.awaiting_breached IS 'Those awaiting items with sla_breached.';
