-- The entries of this database's audit outbox pending longer than the grace period ($1 seconds), oldest first, at
-- most $2, after the entry ($3 its pending_at, $4 its id; null: from the first) where this drain's previous page
-- ended, locked for the drain that appends them (hub.governance.audit_outbox.drain): another process's drain skips
-- them. A page of entries left in the outbox (not the hub's: their MAC does not hold) does not stop the drain at it.
select id, entry, mac, pending_at
from hub.audit_outbox
where pending_at < clock_timestamp() - make_interval(secs => $1)
  and ($3::timestamptz is null or (pending_at, id) > ($3::timestamptz, $4::bigint))
order by pending_at, id
limit $2
for update skip locked
