-- Idempotency keys of bulk ingest belong to the consumer that used them (issue 12, item 4).
--
-- Until now a batch was found by (dataset, Idempotency-Key) alone: any consumer allowed to ingest into the
-- dataset could send another consumer's key and be answered that consumer's stored report (with the raw
-- input of its rejected rows). Now a key belongs to (consumer, dataset, key):
-- * unique (consumer_id, dataset, idempotency_key): a consumer's retry finds its own batch;
-- * the exclusion constraint: a key one consumer used for a dataset cannot be used for it by another
--   consumer (the hub answers 409 CONFLICT, with no report).
-- Both are arbiters of the batch insert (sql/queries/sync/ingest_batch_insert.sql, ON CONFLICT DO NOTHING),
-- which waits for a concurrent batch with the key: of two consumers sending one key at the same time only
-- one can open a batch, and the other is told the key is not its own.
-- Existing batches keep their owner (consumer_id, written since 0009). Batches without a key are unaffected
-- (a null key equals no key).

create extension if not exists btree_gist;  -- text equality and bigint <> in a GiST exclusion constraint

alter table hub_sync.ingest_batches drop constraint ingest_batches_dataset_idempotency_key_key;

alter table hub_sync.ingest_batches
    add constraint ingest_batches_consumer_key unique (consumer_id, dataset, idempotency_key);

alter table hub_sync.ingest_batches
    add constraint ingest_batches_key_one_consumer
    exclude using gist (dataset with =, idempotency_key with =, consumer_id with <>)
    where (idempotency_key is not null);
