-- The entries of this database's audit outbox pending longer than the grace period ($1 seconds), oldest first, at
-- most $2, locked for the drain that appends them (hub.governance.audit_outbox.drain): another process's drain skips
-- them.
select id, entry, mac, pending_at
from hub.audit_outbox
where pending_at < clock_timestamp() - make_interval(secs => $1)
order by pending_at, id
limit $2
for update skip locked
