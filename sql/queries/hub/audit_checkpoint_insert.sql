-- Audit checkpoints: store one signed head (hub/governance/checkpoints.py; the table refuses updates and deletes).
insert into hub.audit_checkpoints (seq, entry_id, entry_hash, entry_count, signed_at, key_id, signature)
values ($1, $2, $3, $4, $5, $6, $7)
