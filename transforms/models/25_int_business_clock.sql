-- A cumulative business clock per party: business minutes between two instants are B(t2) - B(t1), where
-- B(t) = business time worked from the start of the calendar up to t. Looked up with ASOF joins, this is the
-- overlap of [t1, t2) with the party's calendar_intervals, computed in O(n log n).
CREATE OR REPLACE TABLE intermediate.int_business_clock AS
WITH
intervals AS (
    SELECT
        party_kind,
        party_id,
        day_local,
        start_utc,
        end_utc,
        epoch_us(start_utc) AS start_us,
        epoch_us(end_utc) AS end_us
    FROM marts.calendar_intervals
),

final AS (
    SELECT
        *,
        coalesce(
            sum(end_us - start_us) OVER (
                PARTITION BY party_kind, party_id ORDER BY start_utc ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ),
            0
        )::BIGINT AS worked_before_us
    FROM intervals
)

SELECT * FROM final;

COMMENT ON TABLE intermediate.int_business_clock IS 'Staging: calendar_intervals with the business time each party worked before each interval. Business time up to an instant t = worked_before_us + (least(t, end) - start) of the last interval starting at or before t (0 before the first interval). Grain: (party_kind, party_id, start_utc).';
COMMENT ON COLUMN intermediate.int_business_clock.party_kind IS 'company or vendor.';
COMMENT ON COLUMN intermediate.int_business_clock.party_id IS 'company, or the vendor id.';
COMMENT ON COLUMN intermediate.int_business_clock.day_local IS 'Working day in the party''s time zone.';
COMMENT ON COLUMN intermediate.int_business_clock.start_utc IS 'Interval start (inclusive), UTC.';
COMMENT ON COLUMN intermediate.int_business_clock.end_utc IS 'Interval end (exclusive), UTC.';
COMMENT ON COLUMN intermediate.int_business_clock.start_us IS 'Interval start in microseconds since the Unix epoch.';
COMMENT ON COLUMN intermediate.int_business_clock.end_us IS 'Interval end in microseconds since the Unix epoch.';
COMMENT ON COLUMN intermediate.int_business_clock.worked_before_us IS 'Business microseconds of the party''s earlier intervals in the calendar range.';
