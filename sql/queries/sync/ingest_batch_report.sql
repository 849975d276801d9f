-- The stored report of the batch applied under an Idempotency-Key.
select report from hub_sync.ingest_batches where dataset = $1 and idempotency_key = $2
