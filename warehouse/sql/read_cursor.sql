SELECT cursor FROM meta.sync_state WHERE source = $1 AND partition_key = $2;
