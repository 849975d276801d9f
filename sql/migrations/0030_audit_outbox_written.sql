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
