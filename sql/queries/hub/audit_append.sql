-- Append a batch of audit entries in array order, one call (hub.audit_writer.AuditWriter): $1 the batch's time
-- (UTC text), $2 each entry's canonical content after its id, $3 the entries' column values as a JSON array
-- (hub.audit_writer.batch_args); hub.audit_append (migration 0018) draws the ids and chains the hashes under the
-- chain's lock.
select hub.audit_append($1, $2::text[], $3::jsonb)
