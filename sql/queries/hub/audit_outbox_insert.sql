-- Keep an operation's audit entry ($1: JSON of hub.governance.audit.AuditEntry) in this database's audit outbox, in
-- the transaction of the write it records (hub.governance.audit_outbox.stage): deleted once the entry is in the log.
insert into hub.audit_outbox (entry) values ($1::jsonb) returning id
