-- The markers of entries of the audit outbox of database $1 ($2 their ids there), once the drain has deleted them
-- (hub.governance.audit_outbox.drain).
delete from hub.audit_outbox_written where database = $1 and outbox_id = any($2::bigint[])
