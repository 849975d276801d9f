-- Audit checkpoints: the newest signed head, and its age in seconds by the database's clock.
select seq, entry_id, entry_hash, entry_count, signed_at, key_id, signature,
       extract(epoch from clock_timestamp() - signed_at)::float8 as age_seconds
from hub.audit_checkpoints
order by seq desc
limit 1
