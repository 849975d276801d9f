-- Open an ingest batch; nothing when a batch with this Idempotency-Key exists for the dataset (waits for a
-- concurrent one): this consumer's own (unique (consumer_id, dataset, idempotency_key)) or another consumer's
-- (exclusion constraint ingest_batches_key_one_consumer, migration 0013). Both constraints are arbiters.
insert into hub_sync.ingest_batches (dataset, idempotency_key, consumer_id, department)
values ($1, $2, $3, $4)
on conflict do nothing
returning id
