-- These entries are in hub.audit_log: out of this database's audit outbox (hub.governance.audit_outbox).
delete from hub.audit_outbox where id = any($1::bigint[])
