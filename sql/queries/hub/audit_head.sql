-- The audit chain's head (id and hash of the newest entry, migration 0018), read once by a new group-commit writer.
select id, hash from hub.audit_chain_head
