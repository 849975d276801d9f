-- How many ingest batches of this database have their audit entry pending in the outbox, and since when
-- (hub audit outbox).
select count(*) as pending, min(audit_pending_at) as oldest
from hub_sync.ingest_batches
where audit_pending is not null
