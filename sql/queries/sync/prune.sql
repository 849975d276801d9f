-- Retention: remove the changes recorded before $1 (a prefix per dataset; see hub_sync.prune).
select hub_sync.prune($1::timestamptz)
