-- The audit entries of these ingest batches are in hub.audit_log: nothing pending in the outbox any more
-- (hub.governance.audit_outbox).
update hub_sync.ingest_batches
set audit_pending = null, audit_pending_at = null
where id = any($1::bigint[]) and audit_pending is not null
