-- Append a batch of audit entries hashed by the writer (hub.audit_writer.AuditWriter), chained from the head
-- ($1 id, $2 hash); $3 is a JSON array of the entries' full rows in chain order. Returns the head afterwards and
-- whether the batch was appended (false: the head had moved; chain from the returned head and call again).
select head_id, head_hash, appended from hub.audit_append($1, $2, $3::jsonb)
