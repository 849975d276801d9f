-- Whether hub.audit_log already holds this entry (hub.governance.audit_outbox.drain): the same values in every column
-- but the id, the time and the hashes ($1-$14 as audit_insert.sql takes them, AuditEntry.args()), written at or
-- after $15. An entry its request wrote, whose outbox row could not be cleared, is not written twice; an entry that
-- differs in anything (another operation that happens to share the trace id) does not stand in for it.
select exists (
  select from hub.audit_log a
  where a.trace_id = $14 and a.at >= $15
    and a.consumer_id is not distinct from $1 and a.department is not distinct from $2
    and a.consumer_name is not distinct from $3 and a.operation_name is not distinct from $4
    and a.operation_type = $5 and a.document_hash is not distinct from $6 and a.datasets = $7::text[]
    and a.grants = $8::bigint[] and a.rows = $9::jsonb and a.masked_fields = $10::text[] and a.denied = $11::text[]
    and a.outcome = $12 and a.error_codes = $13::text[]
)
