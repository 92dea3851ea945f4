-- Turns: maximal runs of consecutive counted messages from the same side, per (conversation_key, vendor_id),
-- ordered by sent_at then message_key. A turn needs a reply when one of its messages asks something
-- (stg_message_requests); a turn of statements or acknowledgements opens no clock, and neither does a turn whose
-- author closed it with an acknowledgement ("Noted, thanks.") at least 30 minutes after asking (an answer came
-- some other way). A "thanks!" or "🙏" sent right after the question is thanks in advance: it closes nothing.
CREATE OR REPLACE TEMP VIEW fresh_turns AS
WITH
counted AS (
    SELECT
        c.*,
        r.asks,
        r.is_acknowledgement,
        r.reason
    FROM intermediate.int_counted_messages AS c
    INNER JOIN staging.stg_message_requests AS r ON r.message_key = c.message_key
    WHERE (getvariable('full_build') OR c.core_conversation_key IN (SELECT conversation_key FROM meta.build_scope))
),

ordered AS (
    SELECT
        *,
        row_number() OVER pair_order AS seq,
        lag(side) OVER pair_order AS previous_side,
        first_value(channel) OVER pair_order AS conversation_channel
    FROM counted
    WINDOW pair_order AS (PARTITION BY conversation_key, vendor_id ORDER BY sent_at, message_key)
),

numbered AS (
    SELECT
        *,
        sum(CASE WHEN previous_side IS NULL OR previous_side <> side THEN 1 ELSE 0 END) OVER (
            PARTITION BY conversation_key, vendor_id ORDER BY seq ROWS UNBOUNDED PRECEDING
        ) AS turn_no
    FROM ordered
),

grouped AS (
    SELECT
        conversation_key,
        any_value(core_conversation_key) AS core_conversation_key,
        vendor_id,
        turn_no,
        any_value(conversation_channel) AS channel,
        any_value(side) AS side,
        arg_min(message_key, seq) AS first_message_key,
        min(sent_at) AS first_sent_at,
        arg_max(message_key, seq) AS last_message_key,
        max(sent_at) AS last_sent_at,
        count(*) AS messages,
        bool_or(asks) AS asks,
        arg_min(message_key, seq) FILTER (WHERE asks) AS asking_message_key,
        min(sent_at) FILTER (WHERE asks) AS asked_at,
        max(sent_at) FILTER (WHERE asks) AS last_asked_at,
        arg_min(reason, seq) FILTER (WHERE asks) AS asking_reason,
        arg_min(reason, seq) FILTER (WHERE starts_with(reason, 'feedback:')) AS overruled_reason,
        arg_max(is_acknowledgement, seq) AS ends_with_acknowledgement,
        bool_and(reason = 'acknowledgement') AS only_acknowledgements
    FROM numbered
    GROUP BY conversation_key, vendor_id, turn_no
),

turns AS (
    SELECT
        * EXCLUDE (asks, asking_message_key, asked_at, last_asked_at, asking_reason, overruled_reason,
                   ends_with_acknowledgement, only_acknowledgements, closed_by_author),
        asks AND NOT closed_by_author AS needs_reply,
        coalesce(asking_message_key, first_message_key) AS needs_reply_message_key,
        coalesce(asked_at, first_sent_at) AS needs_reply_at,
        CASE
            WHEN closed_by_author THEN 'closed: acknowledged by its author after ' || asking_reason
            WHEN asks THEN asking_reason
            WHEN overruled_reason IS NOT NULL THEN overruled_reason
            WHEN only_acknowledgements THEN 'acknowledgement'
            ELSE 'statement'
        END AS needs_reply_reason
    FROM (
        SELECT
            *,
            asks
                AND ends_with_acknowledgement
                AND epoch_us(last_sent_at) - epoch_us(last_asked_at) >= 30 * 60e6 AS closed_by_author
        FROM grouped
    ) AS classified
),

final AS (
    SELECT
        *,
        turn_no = max(turn_no) OVER (PARTITION BY conversation_key, vendor_id) AS is_last_turn
    FROM turns
)

SELECT * FROM final;

-- A full build starts from dropped tables (transforms/reset.sql) and an empty scope; an incremental build replaces
-- the rows of the conversations in meta.build_scope.
CREATE TABLE IF NOT EXISTS intermediate.int_turns AS FROM fresh_turns WITH NO DATA;
DELETE FROM intermediate.int_turns WHERE core_conversation_key IN (SELECT conversation_key FROM meta.build_scope);
INSERT INTO intermediate.int_turns BY NAME FROM fresh_turns;

COMMENT ON TABLE intermediate.int_turns IS 'Staging: turns, i.e. maximal runs of consecutive counted messages from the same side within a (conversation_key, vendor_id) pair, ordered by sent_at then message_key, with whether each needs a reply and why (the audit trail of what opens a clock). Grain: (conversation_key, vendor_id, turn_no).';
COMMENT ON COLUMN intermediate.int_turns.conversation_key IS 'The measured conversation (int_counted_messages.conversation_key: a Slack segment for unthreaded messages).';
COMMENT ON COLUMN intermediate.int_turns.core_conversation_key IS 'core.messages.conversation_key (what incremental builds recompute as a whole).';
COMMENT ON COLUMN intermediate.int_turns.vendor_id IS 'The vendor of the pair.';
COMMENT ON COLUMN intermediate.int_turns.turn_no IS '1-based position of the turn in the pair; consecutive turns alternate sides.';
COMMENT ON COLUMN intermediate.int_turns.channel IS 'Channel of the first counted message of the pair (email, slack or teams).';
COMMENT ON COLUMN intermediate.int_turns.side IS 'company or vendor: who speaks in this turn.';
COMMENT ON COLUMN intermediate.int_turns.first_message_key IS 'First message of the turn.';
COMMENT ON COLUMN intermediate.int_turns.first_sent_at IS 'sent_at of the first message of the turn.';
COMMENT ON COLUMN intermediate.int_turns.last_message_key IS 'Last message of the turn (an acknowledgement there can close the turn).';
COMMENT ON COLUMN intermediate.int_turns.last_sent_at IS 'sent_at of the last message of the turn.';
COMMENT ON COLUMN intermediate.int_turns.messages IS 'Number of counted messages in the turn.';
COMMENT ON COLUMN intermediate.int_turns.is_last_turn IS 'True for the last turn of the pair as of as_of.';
COMMENT ON COLUMN intermediate.int_turns.needs_reply IS 'True when a message of the turn asks the other side for something (stg_message_requests.asks) and the turn does not end with its author''s acknowledgement sent 30 minutes or more after the last asking message: only such turns open a response clock (marts.responses) or wait (marts.awaiting).';
COMMENT ON COLUMN intermediate.int_turns.needs_reply_message_key IS 'The first message of the turn that asks something (the first message when none does): a response clock starts here.';
COMMENT ON COLUMN intermediate.int_turns.needs_reply_at IS 'sent_at of needs_reply_message_key.';
COMMENT ON COLUMN intermediate.int_turns.needs_reply_reason IS 'Why: the reason of the first asking message (rule (lexicon id): "evidence"); closed: … when the author acknowledged later in the same turn; feedback: not a request (note) when the only asks were overruled by a user (meta.feedback); else acknowledgement (every message only thanks or confirms) or statement.';
