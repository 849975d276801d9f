-- The audit outbox (hub.governance.audit_outbox), in every database: a write commits in its department's database
-- (an ingest batch, a grant, a report's publication), and only then can its audit entry be appended to hub.audit_log
-- (the hub's primary, possibly another database). When that append failed, the write stayed with no entry. Now the
-- entry its operation will write (the values hub.governance.audit.AuditEntry holds, as JSON text) is inserted here in the
-- transaction of the write, deleted once the entry is in the log, and appended by the drain of a hub process when it
-- is still here after a grace period.
--
-- A department's database may be run apart from the hub's (Settings.department_urls), by others: whoever could write
-- to its outbox would have the drain append any entry, for any consumer, to the hub's chained log. So every kept
-- entry carries an HMAC-SHA256 of its text (mac) under a secret of the hub's database (hub.audit_outbox_key, in the
-- primary: two random UUIDs, 244 random bits), and the drain appends only entries whose MAC holds.
create table hub.audit_outbox (
    id bigint generated always as identity primary key,
    entry text not null,
    mac text not null,
    pending_at timestamptz not null default clock_timestamp()
);

create table hub.audit_outbox_key (
    one boolean primary key default true check (one),
    secret text not null default (gen_random_uuid()::text || gen_random_uuid()::text)
);
insert into hub.audit_outbox_key default values;

create index audit_outbox_pending_at_idx on hub.audit_outbox (pending_at, id);

-- Audit entries in hub.audit_log although the outbox (hub.audit_outbox, migration 0029) of their write's database
-- still keeps them (hub.governance.audit_outbox): marked by the hub right after it wrote the entry, when it could not
-- delete it from that outbox (that database failing just then), and by a drain for the entries it wrote until it has
-- deleted them. The drain deletes a marked entry without writing it again.
-- The drain looked the entry up in the log instead (by trace id, then by trace id and every other value), and took
-- another operation's entry for the kept one: a trace id is not an operation's own (a caller's traceparent continues
-- its trace, which it may share with its other requests; a trace the hub began is told to the caller in its answer,
-- and a replay of an ingest batch in that trace has the very values of its entry; the writes of one GraphQL
-- operation share its trace). A kept entry is named by its database (the name of its pool: primary, or the
-- departments sharing it), its id there and its trace id (an id drawn again by a recreated database is another
-- entry).
create table hub.audit_outbox_written (
    database text not null,
    outbox_id bigint not null,
    trace_id text,
    marked_at timestamptz not null default now(),
    primary key (database, outbox_id)
);
