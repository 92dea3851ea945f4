-- Does a message of the company or a vendor ask the other side for something? Read from its new text (body_text,
-- as spoken_text() in transforms/macros.sql gives it), English and French, with the lexicon's request, courtesy and acknowledgement entries and the nudge, escalation and rework
-- signals. A message asks when, once code, quoted lines, links and courtesy phrases ("let me know if you have any
-- questions", "n'hésitez pas", "please find attached", "why not?") are cut out, it holds a request phrase or a
-- question mark, or when it chases (nudge), escalates or rejects a delivery (rework). An acknowledgement (a short
-- message of thanks or receipt only, or emoji only) never asks. The first rule that applies, in that order, is
-- kept as the reason. A message whose text is not stored ([warehouse] store_bodies = false) counts as asking, so
-- every turn opens a clock as it would without this rule. A message a user marked not a request (meta.feedback,
-- `commhealth dismiss message KEY --not-a-request`) never asks, whatever the rules read in it. The text is read
-- once for the whole build: each signal's phrase is kept here for marts.message_signals, which applies the
-- context rules to it.
CREATE OR REPLACE TEMP VIEW fresh_message_requests AS
WITH
texts AS (
    SELECT
        m.message_key,
        m.conversation_key AS core_conversation_key,
        m.body_text IS NOT NULL AS has_text,
        coalesce(m.body_text, '') AS body_text,
        lowered_text(m.body_text) AS lowered,
        spoken_text(m.body_text) AS spoken_text
    FROM core.messages AS m
    INNER JOIN staging.stg_message_parties AS p ON p.message_key = m.message_key
    WHERE NOT m.is_automated
      AND NOT p.is_internal
      AND p.side IN ('company', 'vendor')
      AND m.sent_at <= getvariable('as_of')
      AND (getvariable('full_build') OR m.conversation_key IN (SELECT conversation_key FROM meta.build_scope))
),

asking AS (
    SELECT
        *,
        trim(regexp_replace(spoken_text, getvariable('courtesy_pattern'), ' ', 'g')) AS asking_text,
        -- Acknowledgement words, punctuation dropped: "Thanks a lot!" -> "thanks a lot".
        trim(regexp_replace(
            regexp_replace(spoken_text, '[^a-z0-9'']+', ' ', 'g'), '\s+', ' ', 'g'
        )) AS ack_text,
        -- Emoji only (":+1:", "🙏", "👍🏽"): nothing left once shortcodes and symbols are gone.
        body_text <> ''
            AND NOT regexp_matches(regexp_replace(lowered, ':[a-z0-9_+''-]+:', '', 'g'), '[\p{L}\p{N}?]')
            AS is_emoji_only
    FROM texts
),

matched AS (
    SELECT
        *,
        (has_text AND is_emoji_only)
            OR (
                NOT contains(body_text, '?')
                AND NOT contains(body_text, '？')
                AND ack_text <> ''
                AND len(string_split(ack_text, ' ')) <= 8
                AND regexp_full_match(ack_text, getvariable('acknowledgement_pattern'))
            ) AS is_acknowledgement,
        regexp_extract(asking_text, getvariable('request_pattern')) AS request_evidence,
        regexp_extract(asking_text, '([^.!?]{0,80}[?？]+)(?:[^a-z0-9=&/_-]|$)', 1) AS question_evidence,
        -- Each signal's alternation extracted once per text (regexp_extract: DuckDB's regexp_matches runs about 70
        -- times slower on the longest alternations); a pattern always matches at least one character, so an
        -- empty extract means no match (transforms/lexicon.py).
        regexp_extract(spoken_text, getvariable('signal_pattern_clarification')) AS clarification_evidence,
        regexp_extract(spoken_text, getvariable('signal_pattern_info_request')) AS info_request_evidence,
        regexp_extract(spoken_text, getvariable('signal_pattern_nudge')) AS nudge_evidence,
        regexp_extract(spoken_text, getvariable('signal_pattern_repetition')) AS repetition_evidence,
        regexp_extract(spoken_text, getvariable('signal_pattern_rework')) AS rework_evidence,
        regexp_extract(spoken_text, getvariable('signal_pattern_escalation')) AS escalation_evidence,
        regexp_extract(spoken_text, getvariable('follow_up_pattern')) AS follow_up_evidence
    FROM asking
),

-- Read twice (the request phrases and the final rows): computed once, not once per reader.
ruled AS MATERIALIZED (
    SELECT
        message_key,
        core_conversation_key,
        is_acknowledgement,
        CASE
            WHEN NOT has_text THEN 'no_text'
            WHEN is_acknowledgement THEN NULL
            WHEN request_evidence <> '' THEN 'request'
            WHEN question_evidence <> '' THEN 'question'
            WHEN nudge_evidence <> '' THEN 'nudge'
            WHEN escalation_evidence <> '' THEN 'escalation'
            WHEN rework_evidence <> '' THEN 'rework'
        END AS ask_rule,
        CASE
            WHEN NOT has_text OR is_acknowledgement THEN NULL
            WHEN request_evidence <> '' THEN trim(request_evidence, ' .!:;,(')
            WHEN question_evidence <> '' THEN trim(question_evidence)
            WHEN nudge_evidence <> '' THEN nudge_evidence
            WHEN escalation_evidence <> '' THEN escalation_evidence
            WHEN rework_evidence <> '' THEN rework_evidence
        END AS ask_evidence,
        nullif(clarification_evidence, '') AS clarification_phrase,
        nullif(info_request_evidence, '') AS info_request_phrase,
        nullif(nudge_evidence, '') AS nudge_phrase,
        nullif(repetition_evidence, '') AS repetition_phrase,
        nullif(rework_evidence, '') AS rework_phrase,
        nullif(escalation_evidence, '') AS escalation_phrase,
        nullif(follow_up_evidence, '') AS follow_up_phrase
    FROM matched
),

request_phrases AS (
    SELECT DISTINCT ask_evidence FROM ruled WHERE ask_rule = 'request'
),

-- The user's word wins over the rules: the latest not_a_request decision in force on each message.
not_requests AS (
    SELECT
        message_key,
        max(id) AS feedback_id,
        arg_max(note, id) AS note
    FROM meta.feedback
    WHERE kind = 'not_a_request' AND revoked_at IS NULL
    GROUP BY message_key
),

request_entries AS (
    SELECT
        p.ask_evidence,
        coalesce(
            arg_min(l.id, l.seq) FILTER (WHERE regexp_full_match(p.ask_evidence, l.pattern)),
            arg_min(l.id, l.seq) FILTER (WHERE regexp_matches(p.ask_evidence, l.pattern))
        ) AS lexicon_id
    FROM request_phrases AS p
    INNER JOIN marts.signal_lexicon AS l ON l.signal = 'request'
    GROUP BY p.ask_evidence
),

final AS (
    SELECT
        r.message_key,
        r.core_conversation_key,
        r.ask_rule IS NOT NULL AND n.feedback_id IS NULL AS asks,
        r.is_acknowledgement,
        r.ask_rule,
        r.ask_evidence,
        e.lexicon_id,
        n.feedback_id,
        CASE
            WHEN r.ask_rule IS NOT NULL AND n.feedback_id IS NOT NULL
                THEN 'feedback: not a request' || coalesce(' (' || n.note || ')', '')
            WHEN r.ask_rule = 'no_text' THEN 'no_text: text not stored, counted as asking'
            WHEN r.is_acknowledgement THEN 'acknowledgement'
            WHEN r.ask_rule IS NULL THEN 'statement'
            ELSE r.ask_rule || coalesce(' (' || e.lexicon_id || ')', '') || ': "' || r.ask_evidence || '"'
        END AS reason,
        r.clarification_phrase,
        r.info_request_phrase,
        r.nudge_phrase,
        r.repetition_phrase,
        r.rework_phrase,
        r.escalation_phrase,
        r.follow_up_phrase
    FROM ruled AS r
    LEFT JOIN request_entries AS e ON r.ask_rule = 'request' AND e.ask_evidence = r.ask_evidence
    LEFT JOIN not_requests AS n ON n.message_key = r.message_key
)

SELECT * FROM final;

-- A full build starts from dropped tables (transforms/reset.sql) and an empty scope; an incremental build replaces
-- the rows of the conversations in meta.build_scope.
CREATE TABLE IF NOT EXISTS staging.stg_message_requests AS FROM fresh_message_requests WITH NO DATA;
DELETE FROM staging.stg_message_requests
WHERE core_conversation_key IN (SELECT conversation_key FROM meta.build_scope);
INSERT INTO staging.stg_message_requests BY NAME FROM fresh_message_requests;

COMMENT ON TABLE staging.stg_message_requests IS 'Staging: whether each human, non-internal message of the company or a vendor (sent by as_of) asks the other side for something (needs a reply), and why. Read from body_text (new text only), lower-cased, accents removed, without code, quoted lines or links: a request phrase of the lexicon (once courtesy phrases are cut out), a question mark, a nudge, an escalation or a rework signal; an acknowledgement (at most 8 words of thanks or receipt, no ''?'', or emoji only) never asks. Grain: (message_key).';
COMMENT ON COLUMN staging.stg_message_requests.message_key IS 'core.messages.message_key.';
COMMENT ON COLUMN staging.stg_message_requests.core_conversation_key IS 'core.messages.conversation_key (the unit incremental builds recompute).';
COMMENT ON COLUMN staging.stg_message_requests.asks IS 'True when the message asks for an answer or an action: ask_rule is set and no user marked it not a request (feedback_id is NULL).';
COMMENT ON COLUMN staging.stg_message_requests.is_acknowledgement IS 'True for a message that only thanks, confirms receipt or closes (acknowledgement lexicon, whole text), or holds only emoji.';
COMMENT ON COLUMN staging.stg_message_requests.ask_rule IS 'The first rule that applies: request, question, nudge, escalation, rework; no_text when body_text is not stored (counted as asking); NULL when the rules read no ask. Kept when a user marked the message not a request (feedback_id), to show what was overruled.';
COMMENT ON COLUMN staging.stg_message_requests.ask_evidence IS 'The words that matched (normalised text): the request phrase, the question (up to 80 characters before the ''?''), or the signal phrase.';
COMMENT ON COLUMN staging.stg_message_requests.lexicon_id IS 'For a request, the lexicon entry that matched (marts.signal_lexicon.id).';
COMMENT ON COLUMN staging.stg_message_requests.feedback_id IS 'The not_a_request decision in force on this message (meta.feedback.id): it asks nothing, whatever ask_rule says; NULL without one.';
COMMENT ON COLUMN staging.stg_message_requests.reason IS 'One readable line: acknowledgement, statement, rule (lexicon id): "evidence", or feedback: not a request (note) when a user overruled a rule that read a request.';
COMMENT ON COLUMN staging.stg_message_requests.clarification_phrase IS 'The words that match the clarification entries of the lexicon (normalised text), NULL when none; marts.message_signals applies the context rules (after the other side).';
COMMENT ON COLUMN staging.stg_message_requests.info_request_phrase IS 'The words that match the info_request entries of the lexicon, NULL when none.';
COMMENT ON COLUMN staging.stg_message_requests.nudge_phrase IS 'The words that match the nudge entries of the lexicon, NULL when none.';
COMMENT ON COLUMN staging.stg_message_requests.repetition_phrase IS 'The words that match the repetition entries of the lexicon, NULL when none.';
COMMENT ON COLUMN staging.stg_message_requests.rework_phrase IS 'The words that match the rework entries of the lexicon, NULL when none; marts.message_signals applies the context rules (after the other side).';
COMMENT ON COLUMN staging.stg_message_requests.escalation_phrase IS 'The words that match the escalation entries of the lexicon, NULL when none.';
COMMENT ON COLUMN staging.stg_message_requests.follow_up_phrase IS 'The words that match the weaker follow-up wordings (lexicon ids follow_*), NULL when none; a nudge in marts.message_signals only after the author''s own side.';
