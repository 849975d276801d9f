-- Open an ingest batch; nothing when a batch with this Idempotency-Key exists (waits for a concurrent one).
insert into hub_sync.ingest_batches (dataset, idempotency_key, consumer_id, department)
values ($1, $2, $3, $4)
on conflict (dataset, idempotency_key) do nothing
returning id
