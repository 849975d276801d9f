-- The audit outbox of ingest batches (hub.governance.audit_outbox). An ingest commits its rows in its department's
-- database, and only then is its audit entry appended to hub.audit_log (the hub's primary, possibly another
-- database): when that append failed, the batch stayed applied with no entry, unless its writer retried with the
-- same Idempotency-Key. Now the batch's entry (the values hub.governance.audit.AuditEntry holds) is stored with the
-- batch, in the transaction that applies it, and set to null once the entry is in the log; a background drain of
-- every hub process appends the entries still pending after a grace period. Batches before this migration have none.
alter table hub_sync.ingest_batches
  add column audit_pending jsonb,
  add column audit_pending_at timestamptz;

create index ingest_batches_audit_pending_idx on hub_sync.ingest_batches (audit_pending_at, id)
  where audit_pending is not null;
