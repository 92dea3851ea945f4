-- Every request (a turn that needs a reply) with when it was answered, and the instants its wait crosses the
-- waiting side's SLA and overdue_critical_factor x SLA in that side's business time. Overdue items are announced
-- on the report day their wait crosses the SLA, once more on the day it crosses the critical factor, and are
-- resolved on the day they are answered. Requests asked before the baseline of the oldest report day are left out.
CREATE OR REPLACE TABLE marts.stg_requests AS
WITH
horizon AS (
    SELECT min(baseline_starts_at) AS starts_at FROM marts.stg_report_days
),

requests AS (
    SELECT
        t.vendor_id,
        t.channel,
        t.conversation_key,
        t.needs_reply_message_key AS request_message_key,
        t.needs_reply_at AS requested_at,
        t.side AS requested_by_side,
        CASE WHEN t.side = 'company' THEN 'vendor' ELSE 'company' END AS waiting_on,
        CASE WHEN t.side = 'company' THEN t.vendor_id ELSE 'company' END AS waiting_party,
        r.responded_at,
        r.business_minutes AS answered_business_minutes
    FROM marts.stg_turns AS t
    LEFT JOIN marts.responses AS r
        ON r.conversation_key = t.conversation_key
       AND r.vendor_id = t.vendor_id
       AND r.request_message_key = t.needs_reply_message_key
    WHERE t.needs_reply
      AND t.needs_reply_at > (SELECT starts_at FROM horizon)
),

with_sla AS (
    SELECT
        q.*,
        p.sla_hours * 60.0 AS sla_minutes,
        coalesce(c.worked_before_us + least(epoch_us(q.requested_at), c.end_us) - c.start_us, 0)
            AS worked_at_request_us
    FROM requests AS q
    LEFT JOIN marts.parties AS p ON p.kind = q.waiting_on AND p.party_id = q.waiting_party
    ASOF LEFT JOIN marts.stg_business_clock AS c
        ON c.party_kind = q.waiting_on
       AND c.party_id = q.waiting_party
       AND q.requested_at >= c.start_utc
),

targets AS (
    SELECT
        *,
        worked_at_request_us + (sla_minutes * 60e6)::BIGINT AS sla_target_us,
        worked_at_request_us + (getvariable('alert_overdue_critical_factor') * sla_minutes * 60e6)::BIGINT
            AS critical_target_us
    FROM with_sla
),

-- The instant a business-time target is reached, and after which the wait is past it: inside the interval whose
-- worked_before_us is the largest at or below the target, so a target reached at the close of business is due when
-- business resumes (a wait is past its SLA strictly after, as in marts.awaiting; NULL past the loaded calendar).
sla_due AS (
    SELECT
        t.request_message_key,
        t.vendor_id,
        t.conversation_key,
        timezone('UTC', make_timestamp(c.start_us + t.sla_target_us - c.worked_before_us)) AS sla_due_at
    FROM targets AS t
    ASOF LEFT JOIN marts.stg_business_clock AS c
        ON c.party_kind = t.waiting_on
       AND c.party_id = t.waiting_party
       AND t.sla_target_us >= c.worked_before_us
),

critical_due AS (
    SELECT
        t.request_message_key,
        t.vendor_id,
        t.conversation_key,
        timezone('UTC', make_timestamp(c.start_us + t.critical_target_us - c.worked_before_us)) AS critical_due_at
    FROM targets AS t
    ASOF LEFT JOIN marts.stg_business_clock AS c
        ON c.party_kind = t.waiting_on
       AND c.party_id = t.waiting_party
       AND t.critical_target_us >= c.worked_before_us
),

final AS (
    SELECT
        t.vendor_id,
        t.channel,
        t.conversation_key,
        t.request_message_key,
        t.requested_by_side,
        t.waiting_on,
        t.waiting_party,
        t.requested_at,
        t.responded_at,
        t.answered_business_minutes,
        t.sla_minutes,
        t.worked_at_request_us,
        s.sla_due_at,
        c.critical_due_at
    FROM targets AS t
    LEFT JOIN sla_due AS s
        ON s.request_message_key = t.request_message_key
       AND s.vendor_id = t.vendor_id
       AND s.conversation_key = t.conversation_key
    LEFT JOIN critical_due AS c
        ON c.request_message_key = t.request_message_key
       AND c.vendor_id = t.vendor_id
       AND c.conversation_key = t.conversation_key
)

SELECT * FROM final;

COMMENT ON TABLE marts.stg_requests IS 'Staging: every request (a turn that needs a reply, stg_turns.needs_reply) asked within the alert history and its baselines, with its answer and the instants its wait crosses the waiting side''s SLA and [alerts] overdue_critical_factor x SLA, in that side''s business time. Grain: (conversation_key, vendor_id, request_message_key).';
COMMENT ON COLUMN marts.stg_requests.vendor_id IS 'The vendor of the exchange.';
COMMENT ON COLUMN marts.stg_requests.channel IS 'email or slack.';
COMMENT ON COLUMN marts.stg_requests.conversation_key IS 'The measured conversation (stg_turns.conversation_key).';
COMMENT ON COLUMN marts.stg_requests.request_message_key IS 'The message that asks (stg_turns.needs_reply_message_key): the clock starts here.';
COMMENT ON COLUMN marts.stg_requests.requested_by_side IS 'company or vendor: who asked.';
COMMENT ON COLUMN marts.stg_requests.waiting_on IS 'vendor or company: who is expected to answer.';
COMMENT ON COLUMN marts.stg_requests.waiting_party IS 'Whose calendar and SLA apply: the vendor id, or company.';
COMMENT ON COLUMN marts.stg_requests.requested_at IS 'When it was asked (UTC).';
COMMENT ON COLUMN marts.stg_requests.responded_at IS 'When the other side answered (first message of its next turn), NULL while unanswered (as of as_of).';
COMMENT ON COLUMN marts.stg_requests.answered_business_minutes IS 'marts.responses.business_minutes of the answer, NULL while unanswered.';
COMMENT ON COLUMN marts.stg_requests.sla_minutes IS 'The waiting side''s sla_hours x 60.';
COMMENT ON COLUMN marts.stg_requests.worked_at_request_us IS 'The waiting side''s cumulative business microseconds at requested_at (stg_business_clock): business time waited at t = worked(t) - this.';
COMMENT ON COLUMN marts.stg_requests.sla_due_at IS 'The instant the wait reaches the SLA in the waiting side''s business time (NULL past the loaded calendar).';
COMMENT ON COLUMN marts.stg_requests.critical_due_at IS 'The instant the wait reaches overdue_critical_factor x the SLA in business time.';
