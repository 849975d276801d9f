-- Mark entries of the audit outbox of database $1 written ($2 their ids there, $3 their trace ids, in step): they are
-- in hub.audit_log though they could not be deleted from that outbox (hub.governance.audit_outbox.mark).
insert into hub.audit_outbox_written (database, outbox_id, trace_id)
select $1, k.outbox_id, k.trace_id from unnest($2::bigint[], $3::text[]) as k (outbox_id, trace_id)
on conflict (database, outbox_id) do update set trace_id = excluded.trace_id, marked_at = now()
