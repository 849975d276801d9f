-- How many audit entries this database's audit outbox holds, and since when the oldest (hub audit outbox).
select count(*) as pending, min(pending_at) as oldest from hub.audit_outbox
