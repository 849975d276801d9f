-- Close an ingest batch with its counts and report.
update hub_sync.ingest_batches
set received = $2, inserted = $3, updated = $4, unchanged = $5, rejected = $6, warnings = $7, report = $8::jsonb
where id = $1
