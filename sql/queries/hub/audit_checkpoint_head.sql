-- Audit checkpoints: the chain's head, the number of entries after entry $1 up to it, and the hash entry $1
-- has now (the previous checkpoint's entry; null if it is gone), in one snapshot; no row when the log is empty.
select h.id, h.hash,
       (select count(*) from hub.audit_log a where a.id > $1 and a.id <= h.id) as added,
       (select p.hash from hub.audit_log p where p.id = $1) as previous_hash,
       clock_timestamp() as now
from (select id, hash from hub.audit_log order by id desc limit 1) as h
