-- Ingest batches whose audit entry is still pending after the grace period ($1 seconds), oldest first, at most $2,
-- locked for the drain that appends them (hub.governance.audit_outbox.drain): another process's drain skips them.
select id, audit_pending::text as entry, audit_pending_at as pending_at
from hub_sync.ingest_batches
where audit_pending is not null and audit_pending_at < clock_timestamp() - make_interval(secs => $1)
order by audit_pending_at, id
limit $2
for update skip locked
