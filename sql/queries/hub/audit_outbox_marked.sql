-- Whether entry $2 of the audit outbox of database $1, with trace id $3, is marked written
-- (hub.governance.audit_outbox.drain: it is in hub.audit_log already).
select exists (
  select from hub.audit_outbox_written
  where database = $1 and outbox_id = $2 and trace_id is not distinct from $3
)
