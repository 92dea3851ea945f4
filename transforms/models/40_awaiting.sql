-- Awaiting: the last turn of each (conversation_key, vendor_id) pair when it needs a reply, unanswered by as_of,
-- and asked within the lookback window. Statements and acknowledgements wait for nothing.
CREATE OR REPLACE TABLE marts.awaiting AS
WITH
last_turns AS (
    SELECT *
    FROM intermediate.int_turns
    WHERE is_last_turn
      AND needs_reply
      AND needs_reply_at >= getvariable('as_of') - to_hours(24 * getvariable('awaiting_lookback_days'))
),

open_items AS (
    SELECT
        *,
        CASE WHEN side = 'company' THEN 'vendor' ELSE 'company' END AS waiting_on,
        CASE WHEN side = 'company' THEN vendor_id ELSE 'company' END AS waiting_party,
        getvariable('as_of') AS as_of
    FROM last_turns
),

clocked AS (
    SELECT
        o.*,
        business_us_at(s.worked_before_us, s.start_us, s.end_us, o.needs_reply_at)
            AS worked_at_request_us,
        business_us_at(e.worked_before_us, e.start_us, e.end_us, o.as_of) AS worked_at_as_of_us
    FROM open_items AS o
    ASOF LEFT JOIN intermediate.int_business_clock AS s
        ON s.party_kind = o.waiting_on
       AND s.party_id = o.waiting_party
       AND o.needs_reply_at >= s.start_utc
    ASOF LEFT JOIN intermediate.int_business_clock AS e
        ON e.party_kind = o.waiting_on
       AND e.party_id = o.waiting_party
       AND o.as_of >= e.start_utc
),

final AS (
    SELECT
        c.vendor_id,
        c.channel,
        c.conversation_key,
        c.waiting_on,
        c.needs_reply_message_key AS request_message_key,
        c.needs_reply_at AS requested_at,
        c.as_of,
        (c.worked_at_as_of_us - c.worked_at_request_us) / 60000000.0 AS business_minutes_waiting,
        p.sla_hours * 60.0 AS sla_minutes,
        (c.worked_at_as_of_us - c.worked_at_request_us) / 60000000.0 > p.sla_hours * 60.0 AS sla_breached,
        (epoch_us(c.as_of) - epoch_us(c.needs_reply_at)) / 60000000.0 AS wall_minutes_waiting,
        c.waiting_party,
        c.side AS requested_by_side,
        c.last_message_key,
        c.messages AS request_turn_messages,
        c.needs_reply_reason,
        timezone(getvariable('company_timezone'), c.as_of)::DATE AS day
    FROM clocked AS c
    LEFT JOIN marts.parties AS p ON p.kind = c.waiting_on AND p.party_id = c.waiting_party
)

SELECT * FROM final;

COMMENT ON TABLE marts.awaiting IS 'Requests still waiting for a reply at as_of: the last turn of a (conversation_key, vendor_id) pair when it needs a reply (int_turns.needs_reply: a question, a request, a nudge, an escalation or a rework; never a statement or an acknowledgement), asked at or after as_of - metrics.awaiting_lookback_days (x 24 h). Grain: (conversation_key, vendor_id).';
COMMENT ON COLUMN marts.awaiting.vendor_id IS 'The vendor of the exchange.';
COMMENT ON COLUMN marts.awaiting.channel IS 'email, slack or teams.';
COMMENT ON COLUMN marts.awaiting.conversation_key IS 'The measured conversation (a Slack segment for unthreaded messages; see marts.responses).';
COMMENT ON COLUMN marts.awaiting.waiting_on IS 'vendor or company: the side expected to answer (the other side of the last turn).';
COMMENT ON COLUMN marts.awaiting.request_message_key IS 'First message of the unanswered turn that asks something (starts the clock).';
COMMENT ON COLUMN marts.awaiting.requested_at IS 'sent_at of request_message_key (UTC).';
COMMENT ON COLUMN marts.awaiting.as_of IS 'The build''s as_of instant.';
COMMENT ON COLUMN marts.awaiting.business_minutes_waiting IS 'Minutes of [requested_at, as_of) inside the waiting side''s working intervals (the vendor''s calendar when waiting_on = vendor, the company''s otherwise).';
COMMENT ON COLUMN marts.awaiting.sla_minutes IS 'The waiting side''s sla_hours x 60.';
COMMENT ON COLUMN marts.awaiting.sla_breached IS 'business_minutes_waiting > sla_minutes.';
COMMENT ON COLUMN marts.awaiting.wall_minutes_waiting IS 'Elapsed minutes between requested_at and as_of.';
COMMENT ON COLUMN marts.awaiting.waiting_party IS 'Whose calendar and SLA apply: the vendor id, or company.';
COMMENT ON COLUMN marts.awaiting.requested_by_side IS 'company or vendor: the side of the unanswered turn.';
COMMENT ON COLUMN marts.awaiting.last_message_key IS 'Last message of the unanswered turn.';
COMMENT ON COLUMN marts.awaiting.request_turn_messages IS 'Number of counted messages in the unanswered turn.';
COMMENT ON COLUMN marts.awaiting.needs_reply_reason IS 'Why the turn needs a reply (int_turns.needs_reply_reason): rule (lexicon id): "evidence".';
COMMENT ON COLUMN marts.awaiting.day IS 'Date of as_of in the company''s time zone (where vendor_daily places awaiting items).';
