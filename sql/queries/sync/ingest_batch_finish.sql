-- Close an ingest batch with its counts and report, and its audit entry pending in the outbox ($9, JSON of
-- hub.governance.audit.AuditEntry, or null: hub.governance.audit_outbox) until the entry is in hub.audit_log.
update hub_sync.ingest_batches
set received = $2, inserted = $3, updated = $4, unchanged = $5, rejected = $6, warnings = $7, report = $8::jsonb,
    audit_pending = $9::jsonb, audit_pending_at = case when $9::jsonb is null then null else clock_timestamp() end
where id = $1
