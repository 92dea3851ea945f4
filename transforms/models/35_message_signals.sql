-- Misunderstanding signals found in the new text (body_text) of counted messages, by the phrase lexicon.
-- staging.stg_message_requests reads each text once and keeps, per signal, the phrase its alternation of all the
-- lexicon's patterns matched; here the context rules apply, and the lexicon id is recovered on the distinct
-- matched phrases only.
CREATE OR REPLACE TEMP VIEW fresh_message_signals AS
WITH
counted AS (
    SELECT * FROM intermediate.int_counted_messages
    WHERE (getvariable('full_build') OR core_conversation_key IN (SELECT conversation_key FROM meta.build_scope))
),

-- The phrases were read once per text by staging.stg_message_requests (spoken_text(), each signal's alternation)
phrases_read AS (
    SELECT
        r.message_key,
        r.clarification_phrase,
        r.info_request_phrase,
        r.nudge_phrase,
        r.repetition_phrase,
        r.rework_phrase,
        r.escalation_phrase,
        r.follow_up_phrase
    FROM staging.stg_message_requests AS r
    SEMI JOIN counted AS c ON c.message_key = r.message_key
),

matches AS (
    SELECT message_key, 'clarification' AS signal, clarification_phrase AS evidence FROM phrases_read
    WHERE clarification_phrase IS NOT NULL
    UNION ALL
    SELECT message_key, 'info_request' AS signal, info_request_phrase AS evidence FROM phrases_read
    WHERE info_request_phrase IS NOT NULL
    UNION ALL
    SELECT message_key, 'nudge' AS signal, nudge_phrase AS evidence FROM phrases_read
    WHERE nudge_phrase IS NOT NULL
    UNION ALL
    SELECT message_key, 'repetition' AS signal, repetition_phrase AS evidence FROM phrases_read
    WHERE repetition_phrase IS NOT NULL
    UNION ALL
    SELECT message_key, 'rework' AS signal, rework_phrase AS evidence FROM phrases_read
    WHERE rework_phrase IS NOT NULL
    UNION ALL
    SELECT message_key, 'escalation' AS signal, escalation_phrase AS evidence FROM phrases_read
    WHERE escalation_phrase IS NOT NULL
    UNION ALL
    SELECT message_key, 'follow_up' AS signal, follow_up_phrase AS evidence FROM phrases_read
    WHERE follow_up_phrase IS NOT NULL AND nudge_phrase IS NULL
),

-- Rework rejects what the other side delivered or advised, and clarification is about what the other side said:
-- both only in a message that follows one of theirs in the conversation ("this does not work" opening a thread is
-- a first report, "could you clarify this point" there is a plain question).
replies AS (
    SELECT DISTINCT c.message_key
    FROM counted AS c
    INNER JOIN counted AS o
        ON o.conversation_key = c.conversation_key
       AND o.vendor_id = c.vendor_id
       AND o.side <> c.side
       AND o.sent_at < c.sent_at
),

-- A follow-up wording ("any news?", "same issue here") chases only when the author's side wrote the message before
-- it in the conversation: nothing came back since.
follows_own AS (
    SELECT message_key, vendor_id
    FROM counted
    QUALIFY lag(side) OVER (PARTITION BY conversation_key, vendor_id ORDER BY sent_at, message_key) = side
),

phrases AS (
    SELECT DISTINCT signal, evidence FROM matches
),

phrase_entries AS (
    SELECT
        p.signal,
        p.evidence,
        arg_min(l.id, l.seq) FILTER (WHERE regexp_full_match(p.evidence, l.pattern)) AS exact_id,
        arg_min(l.id, l.seq) FILTER (WHERE regexp_matches(p.evidence, l.pattern)) AS partial_id
    FROM phrases AS p
    INNER JOIN marts.signal_lexicon AS l ON l.signal = p.signal
    GROUP BY p.signal, p.evidence
),

final AS (
    SELECT
        c.message_key,
        c.vendor_id,
        c.channel,
        c.sent_at,
        c.side,
        if(m.signal = 'follow_up', 'nudge', m.signal) AS signal,
        coalesce(pe.exact_id, pe.partial_id) AS lexicon_id,
        m.evidence,
        l.lang,
        c.conversation_key,
        c.core_conversation_key,
        timezone(getvariable('company_timezone'), c.sent_at)::DATE AS day
    FROM matches AS m
    INNER JOIN counted AS c ON c.message_key = m.message_key
    LEFT JOIN replies AS r ON r.message_key = m.message_key
    LEFT JOIN follows_own AS f ON f.message_key = c.message_key AND f.vendor_id = c.vendor_id
    LEFT JOIN phrase_entries AS pe ON pe.signal = m.signal AND pe.evidence = m.evidence
    LEFT JOIN marts.signal_lexicon AS l ON l.id = coalesce(pe.exact_id, pe.partial_id)
    WHERE (m.signal NOT IN ('rework', 'clarification') OR r.message_key IS NOT NULL)
      AND (m.signal <> 'follow_up' OR f.message_key IS NOT NULL)
)

SELECT * FROM final;

-- A full build starts from dropped tables (transforms/reset.sql) and an empty scope; an incremental build replaces
-- the rows of the conversations in meta.build_scope.
CREATE TABLE IF NOT EXISTS marts.message_signals AS FROM fresh_message_signals WITH NO DATA;
DELETE FROM marts.message_signals
WHERE core_conversation_key IN (SELECT conversation_key FROM meta.build_scope);
INSERT INTO marts.message_signals BY NAME FROM fresh_message_signals;

COMMENT ON TABLE marts.message_signals IS 'Misunderstanding signals (clarification, info_request, nudge, repetition, rework, escalation) found by the phrase lexicon in body_text (new text only: quoted history, signature and disclaimer excluded) of counted messages, as spoken_text() gives it; rework and clarification only in a message that follows one of the other side in its conversation; the weaker follow_up wordings (lexicon_id follow_*) are a nudge only in a message whose side also wrote the message before it (transforms/macros.sql: lower case, accents removed, typographic apostrophes straight, without code, quoted lines, links and @mentions, chat spellings written out, whitespace folded). Grain: (message_key, vendor_id, signal); a company message to two vendors gives a row per vendor.';
COMMENT ON COLUMN marts.message_signals.message_key IS 'core.messages.message_key.';
COMMENT ON COLUMN marts.message_signals.vendor_id IS 'The vendor the message is attributed to.';
COMMENT ON COLUMN marts.message_signals.channel IS 'email, slack or teams.';
COMMENT ON COLUMN marts.message_signals.sent_at IS 'When the message was sent (UTC).';
COMMENT ON COLUMN marts.message_signals.side IS 'company or vendor: who wrote it.';
COMMENT ON COLUMN marts.message_signals.signal IS 'clarification, info_request, nudge, repetition, rework or escalation.';
COMMENT ON COLUMN marts.message_signals.lexicon_id IS 'The lexicon entry that matched the evidence (the first in lexicon order when several match it).';
COMMENT ON COLUMN marts.message_signals.evidence IS 'The matched words, as normalised text: the leftmost match of the signal''s patterns.';
COMMENT ON COLUMN marts.message_signals.lang IS 'Language of the matching lexicon entry (en or fr).';
COMMENT ON COLUMN marts.message_signals.conversation_key IS 'The measured conversation (a Slack segment for unthreaded messages; see marts.responses).';
COMMENT ON COLUMN marts.message_signals.core_conversation_key IS 'core.messages.conversation_key.';
COMMENT ON COLUMN marts.message_signals.day IS 'Date of sent_at in the company''s time zone.';
