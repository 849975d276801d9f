-- The audit outbox (hub.governance.audit_outbox), in every database: a write commits in its department's database
-- (an ingest batch, a grant, a report's publication), and only then can its audit entry be appended to hub.audit_log
-- (the hub's primary, possibly another database). When that append failed, the write stayed with no entry. Now the
-- entry its operation will write (the values hub.governance.audit.AuditEntry holds, as JSON) is inserted here in the
-- transaction of the write, deleted once the entry is in the log, and appended by the drain of a hub process when it
-- is still here after a grace period.
create table hub.audit_outbox (
    id bigint generated always as identity primary key,
    entry jsonb not null,
    pending_at timestamptz not null default clock_timestamp()
);

create index audit_outbox_pending_at_idx on hub.audit_outbox (pending_at, id);
