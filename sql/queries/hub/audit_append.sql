-- Append a batch of audit entries in order, one call (hub.governance.audit_writer.AuditWriter): $1 the batch's time
-- (UTC text), $2 each entry's canonical content after its id (hub.governance.audit_writer.batch_args), joined by
-- line feeds (audit_writer.SEPARATOR: JSON holds none); hub.audit_append (migration 0026) draws the ids, chains the
-- hashes under the chain's lock and stores the columns parsed from the hashed content.
select hub.audit_append($1, string_to_array($2::text, E'\n'))
