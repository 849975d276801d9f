-- Keep an operation's audit entry ($1: JSON text of hub.governance.audit.AuditEntry, $2 its HMAC under the hub's
-- outbox key) in this database's audit outbox, in the transaction of the write it records
-- (hub.governance.audit_outbox.keep): deleted once the entry is in the log.
insert into hub.audit_outbox (entry, mac) values ($1, $2) returning id
