-- Audit checkpoints: the signed heads after seq $1, oldest first (the ones an export file still lacks).
select seq, entry_id, entry_hash, entry_count, signed_at, key_id, signature
from hub.audit_checkpoints
where seq > $1
order by seq
