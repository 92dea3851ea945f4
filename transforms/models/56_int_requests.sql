-- Every request (a turn that needs a reply) with when it was answered, and the instants its wait crosses the
-- waiting side's SLA and overdue_critical_factor x SLA in that side's business time. Overdue items are announced
-- on the report day their wait crosses the SLA, once more on the day it crosses the critical factor, and are
-- resolved on the day they are answered. Requests asked before the baseline of the oldest report day are left out.
CREATE OR REPLACE TABLE intermediate.int_requests AS
WITH
horizon AS (
    SELECT min(baseline_starts_at) AS starts_at FROM intermediate.int_report_days
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
    FROM intermediate.int_turns AS t
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
        business_us_at(c.worked_before_us, c.start_us, c.end_us, q.requested_at)
            AS worked_at_request_us
    FROM requests AS q
    LEFT JOIN marts.parties AS p ON p.kind = q.waiting_on AND p.party_id = q.waiting_party
    ASOF LEFT JOIN intermediate.int_business_clock AS c
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
due AS (
    SELECT
        t.request_message_key,
        t.vendor_id,
        t.conversation_key,
        g.goal,
        timezone('UTC', make_timestamp(c.start_us + g.target_us - c.worked_before_us)) AS due_at
    FROM targets AS t
    CROSS JOIN LATERAL (
        VALUES ('sla', t.sla_target_us), ('critical', t.critical_target_us)
    ) AS g(goal, target_us)
    ASOF LEFT JOIN intermediate.int_business_clock AS c
        ON c.party_kind = t.waiting_on
       AND c.party_id = t.waiting_party
       AND g.target_us >= c.worked_before_us
),

due_by_request AS (
    SELECT
        request_message_key,
        vendor_id,
        conversation_key,
        max(due_at) FILTER (WHERE goal = 'sla') AS sla_due_at,
        max(due_at) FILTER (WHERE goal = 'critical') AS critical_due_at
    FROM due
    GROUP BY ALL
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
        d.sla_due_at,
        d.critical_due_at
    FROM targets AS t
    LEFT JOIN due_by_request AS d
        ON d.request_message_key = t.request_message_key
       AND d.vendor_id = t.vendor_id
       AND d.conversation_key = t.conversation_key
)

SELECT * FROM final;

COMMENT ON TABLE intermediate.int_requests IS 'Staging: every request (a turn that needs a reply, int_turns.needs_reply) asked within the alert history and its baselines, with its answer and the instants its wait crosses the waiting side''s SLA and [alerts] overdue_critical_factor x SLA, in that side''s business time. Grain: (conversation_key, vendor_id, request_message_key).';
COMMENT ON COLUMN intermediate.int_requests.vendor_id IS 'The vendor of the exchange.';
COMMENT ON COLUMN intermediate.int_requests.channel IS 'email, slack or teams.';
COMMENT ON COLUMN intermediate.int_requests.conversation_key IS 'The measured conversation (int_turns.conversation_key).';
COMMENT ON COLUMN intermediate.int_requests.request_message_key IS 'The message that asks (int_turns.needs_reply_message_key): the clock starts here.';
COMMENT ON COLUMN intermediate.int_requests.requested_by_side IS 'company or vendor: who asked.';
COMMENT ON COLUMN intermediate.int_requests.waiting_on IS 'vendor or company: who is expected to answer.';
COMMENT ON COLUMN intermediate.int_requests.waiting_party IS 'Whose calendar and SLA apply: the vendor id, or company.';
COMMENT ON COLUMN intermediate.int_requests.requested_at IS 'When it was asked (UTC).';
COMMENT ON COLUMN intermediate.int_requests.responded_at IS 'When the other side answered (first message of its next turn), NULL while unanswered (as of as_of).';
COMMENT ON COLUMN intermediate.int_requests.answered_business_minutes IS 'marts.responses.business_minutes of the answer, NULL while unanswered.';
COMMENT ON COLUMN intermediate.int_requests.sla_minutes IS 'The waiting side''s sla_hours x 60.';
COMMENT ON COLUMN intermediate.int_requests.worked_at_request_us IS 'The waiting side''s cumulative business microseconds at requested_at (int_business_clock): business time waited at t = worked(t) - this.';
COMMENT ON COLUMN intermediate.int_requests.sla_due_at IS 'The instant the wait reaches the SLA in the waiting side''s business time (NULL past the loaded calendar).';
COMMENT ON COLUMN intermediate.int_requests.critical_due_at IS 'The instant the wait reaches overdue_critical_factor x the SLA in business time.';
