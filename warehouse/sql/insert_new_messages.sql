INSERT INTO core.messages BY NAME
SELECT
    * EXCLUDE (ordinal, copy_number, first_hash, stored_hash, stored_raw_ref, is_stored, status),
    $1::TIMESTAMPTZ AS ingested_at,
    $1::TIMESTAMPTZ AS changed_at
FROM staged_batch
WHERE status = 'new';
