-- Responses: each turn that needs a reply, followed by a turn of the other side. The clock runs from the first
-- message of the request turn that asks something to the first message of the answering turn, in the responder's
-- business calendar. Statements and acknowledgements open no clock, so a late "thanks" is never a late answer.
CREATE OR REPLACE TEMP VIEW fresh_responses AS
WITH
turns AS (
    SELECT * FROM intermediate.int_turns
    WHERE (getvariable('full_build') OR core_conversation_key IN (SELECT conversation_key FROM meta.build_scope))
),

paired AS (
    SELECT
        *,
        lead(first_message_key) OVER pair_order AS response_message_key,
        lead(first_sent_at) OVER pair_order AS responded_at,
        lead(side) OVER pair_order AS responded_by_side
    FROM turns
    WINDOW pair_order AS (PARTITION BY conversation_key, vendor_id ORDER BY turn_no)
),

requests AS (
    SELECT
        vendor_id,
        channel,
        conversation_key,
        core_conversation_key,
        CASE WHEN responded_by_side = 'vendor' THEN 'vendor_response' ELSE 'company_response' END AS direction,
        needs_reply_message_key AS request_message_key,
        response_message_key,
        needs_reply_at AS requested_at,
        needs_reply_reason,
        responded_at,
        side AS requested_by_side,
        responded_by_side,
        messages AS request_turn_messages,
        CASE WHEN responded_by_side = 'vendor' THEN 'vendor' ELSE 'company' END AS responder_kind,
        CASE WHEN responded_by_side = 'vendor' THEN vendor_id ELSE 'company' END AS responder_party
    FROM paired
    WHERE response_message_key IS NOT NULL AND needs_reply
),

clocked AS (
    SELECT
        r.*,
        business_us_at(s.worked_before_us, s.start_us, s.end_us, r.requested_at)
            AS worked_at_request_us,
        business_us_at(e.worked_before_us, e.start_us, e.end_us, r.responded_at)
            AS worked_at_response_us
    FROM requests AS r
    ASOF LEFT JOIN intermediate.int_business_clock AS s
        ON s.party_kind = r.responder_kind
       AND s.party_id = r.responder_party
       AND r.requested_at >= s.start_utc
    ASOF LEFT JOIN intermediate.int_business_clock AS e
        ON e.party_kind = r.responder_kind
       AND e.party_id = r.responder_party
       AND r.responded_at >= e.start_utc
),

with_sla AS (
    SELECT
        c.*,
        p.sla_hours * 60.0 AS sla_minutes
    FROM clocked AS c
    LEFT JOIN marts.parties AS p ON p.kind = c.responder_kind AND p.party_id = c.responder_party
),

final AS (
    SELECT
        vendor_id,
        channel,
        conversation_key,
        core_conversation_key,
        direction,
        request_message_key,
        response_message_key,
        requested_at,
        responded_at,
        (epoch_us(responded_at) - epoch_us(requested_at)) / 60000000.0 AS wall_minutes,
        (worked_at_response_us - worked_at_request_us) / 60000000.0 AS business_minutes,
        sla_minutes,
        (worked_at_response_us - worked_at_request_us) / 60000000.0 > sla_minutes AS sla_breached,
        responder_party,
        requested_by_side,
        responded_by_side,
        request_turn_messages,
        needs_reply_reason,
        timezone(getvariable('company_timezone'), responded_at)::DATE AS day
    FROM with_sla
)

SELECT * FROM final;

-- A full build starts from dropped tables (transforms/reset.sql) and an empty scope; an incremental build replaces
-- the rows of the conversations in meta.build_scope.
CREATE TABLE IF NOT EXISTS marts.responses AS FROM fresh_responses WITH NO DATA;
DELETE FROM marts.responses WHERE core_conversation_key IN (SELECT conversation_key FROM meta.build_scope);
INSERT INTO marts.responses BY NAME FROM fresh_responses;

COMMENT ON TABLE marts.responses IS 'One row per answered request: a turn (maximal run of consecutive counted messages from one side, per conversation and vendor) that needs a reply (int_turns.needs_reply: a question, a request, a nudge, an escalation or a rework), followed by a turn of the other side. Clock from the first message of the request turn that asks something to the FIRST message of the answering turn. Grain: (conversation_key, vendor_id, request_message_key).';
COMMENT ON COLUMN marts.responses.vendor_id IS 'The vendor of the exchange; two vendors in one conversation are measured separately.';
COMMENT ON COLUMN marts.responses.channel IS 'email, slack or teams.';
COMMENT ON COLUMN marts.responses.conversation_key IS 'The measured conversation: an email thread, a Slack thread, or a segment of a Slack channel''s unthreaded messages ({channel}:main:{first ts}).';
COMMENT ON COLUMN marts.responses.core_conversation_key IS 'core.messages.conversation_key of the request (for a Slack segment: {channel}:main).';
COMMENT ON COLUMN marts.responses.direction IS 'vendor_response when the vendor answers the company, company_response when the company answers the vendor.';
COMMENT ON COLUMN marts.responses.request_message_key IS 'First message of the request turn that asks something (starts the clock).';
COMMENT ON COLUMN marts.responses.response_message_key IS 'First message of the answering turn (stops the clock).';
COMMENT ON COLUMN marts.responses.requested_at IS 'sent_at of the request message (UTC).';
COMMENT ON COLUMN marts.responses.responded_at IS 'sent_at of the response message (UTC).';
COMMENT ON COLUMN marts.responses.wall_minutes IS 'Elapsed minutes between requested_at and responded_at (exact, fractional).';
COMMENT ON COLUMN marts.responses.business_minutes IS 'Minutes of [requested_at, responded_at) inside the responder''s working intervals (time zone, business_hours, workdays, holidays, closures; DST-correct). 0 when entirely outside hours.';
COMMENT ON COLUMN marts.responses.sla_minutes IS 'The responder''s sla_hours x 60 (vendor for vendor_response, company for company_response).';
COMMENT ON COLUMN marts.responses.sla_breached IS 'business_minutes > sla_minutes.';
COMMENT ON COLUMN marts.responses.responder_party IS 'Whose calendar and SLA apply: the vendor id, or company.';
COMMENT ON COLUMN marts.responses.requested_by_side IS 'company or vendor: the side of the request turn.';
COMMENT ON COLUMN marts.responses.responded_by_side IS 'company or vendor: the side of the answering turn.';
COMMENT ON COLUMN marts.responses.request_turn_messages IS 'Number of counted messages in the request turn.';
COMMENT ON COLUMN marts.responses.needs_reply_reason IS 'Why the request turn needed a reply (int_turns.needs_reply_reason): rule (lexicon id): "evidence".';
COMMENT ON COLUMN marts.responses.day IS 'The day the request was answered: date of responded_at in the company''s time zone.';
