-- Append a batch of audit entries in array order, one call (hub.audit_writer.AuditWriter): $1 is a JSON array of
-- the entries' column values, time and canonical content after the id (hub.audit_writer.batch_json); the function
-- hub.audit_append (migration 0018) draws the ids and chains the hashes under the chain's lock.
select hub.audit_append($1::jsonb)
