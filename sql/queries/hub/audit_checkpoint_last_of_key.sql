-- Audit checkpoints: the newest signed head of one key (by key id), the one its signer continues from.
select seq, entry_id, entry_hash, entry_count, signed_at, key_id, signature
from hub.audit_checkpoints
where key_id = $1
order by seq desc
limit 1
