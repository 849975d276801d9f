-- Whether hub.audit_log already holds the entry of an operation (hub.governance.audit_outbox.drain): same trace,
-- consumer, operation type and name, written at or after $5. An entry written by its request whose outbox row
-- could not be cleared is not written twice.
select exists (
  select from hub.audit_log a
  where a.trace_id = $1 and a.consumer_id is not distinct from $2 and a.operation_type = $3
    and a.operation_name is not distinct from $4 and a.at >= $5
)
