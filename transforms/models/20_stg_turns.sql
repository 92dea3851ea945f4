-- Turns: maximal runs of consecutive counted messages from the same side, per (conversation_key, vendor_id),
-- ordered by sent_at then message_key.
CREATE OR REPLACE TEMP VIEW fresh_turns AS
WITH
counted AS (
    SELECT * FROM marts.stg_counted_messages
    WHERE (getvariable('full_build') OR conversation_key IN (SELECT conversation_key FROM meta.build_scope))
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

turns AS (
    SELECT
        conversation_key,
        vendor_id,
        turn_no,
        any_value(conversation_channel) AS channel,
        any_value(side) AS side,
        arg_min(message_key, seq) AS first_message_key,
        min(sent_at) AS first_sent_at,
        arg_max(message_key, seq) AS last_message_key,
        max(sent_at) AS last_sent_at,
        count(*) AS messages
    FROM numbered
    GROUP BY conversation_key, vendor_id, turn_no
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
CREATE TABLE IF NOT EXISTS marts.stg_turns AS FROM fresh_turns WITH NO DATA;
DELETE FROM marts.stg_turns WHERE conversation_key IN (SELECT conversation_key FROM meta.build_scope);
INSERT INTO marts.stg_turns BY NAME FROM fresh_turns;

COMMENT ON TABLE marts.stg_turns IS 'Staging: turns, i.e. maximal runs of consecutive counted messages from the same side within a (conversation_key, vendor_id) pair, ordered by sent_at then message_key. Grain: (conversation_key, vendor_id, turn_no).';
COMMENT ON COLUMN marts.stg_turns.conversation_key IS 'core.messages.conversation_key.';
COMMENT ON COLUMN marts.stg_turns.vendor_id IS 'The vendor of the pair.';
COMMENT ON COLUMN marts.stg_turns.turn_no IS '1-based position of the turn in the pair; consecutive turns alternate sides.';
COMMENT ON COLUMN marts.stg_turns.channel IS 'Channel of the first counted message of the pair (email or slack).';
COMMENT ON COLUMN marts.stg_turns.side IS 'company or vendor: who speaks in this turn.';
COMMENT ON COLUMN marts.stg_turns.first_message_key IS 'First message of the turn: the clock of a request starts here.';
COMMENT ON COLUMN marts.stg_turns.first_sent_at IS 'sent_at of the first message of the turn.';
COMMENT ON COLUMN marts.stg_turns.last_message_key IS 'Last message of the turn (checked for acknowledgements by the awaiting rule).';
COMMENT ON COLUMN marts.stg_turns.last_sent_at IS 'sent_at of the last message of the turn.';
COMMENT ON COLUMN marts.stg_turns.messages IS 'Number of counted messages in the turn.';
COMMENT ON COLUMN marts.stg_turns.is_last_turn IS 'True for the last turn of the pair as of as_of.';
