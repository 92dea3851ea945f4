INSERT INTO meta.runs
    (run_id, command, started_at, finished_at, status, read, new, already_stored, conflicts, quarantined, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);
