SELECT
    count_if(status = 'new') AS new,
    count_if(status = 'same') AS already_stored,
    count_if(status = 'conflict') AS conflicts
FROM staged_batch;
