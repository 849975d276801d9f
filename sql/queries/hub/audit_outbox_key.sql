-- The secret the kept audit entries' MACs are made with (hub.governance.audit_outbox.outbox_key): the primary's.
select secret from hub.audit_outbox_key
