-- Append a batch of audit entries in array order, one call (hub.governance.audit_writer.AuditWriter): $1 the
-- batch's time (UTC text), $2 each entry's canonical content after its id (hub.governance.audit_writer.batch_args);
-- hub.audit_append (migration 0026) draws the ids, chains the hashes under the chain's lock and stores the
-- columns parsed from the hashed content.
select hub.audit_append($1, $2::text[])
