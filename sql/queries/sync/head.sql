-- The newest change of a dataset that the feed can hand out now, and whether newer ones are still held
-- back by transactions that have not ended (the notifier then looks again shortly).
select h.txid, h.seq,
       exists (select from hub_sync.change_log p where p.dataset = $1 and p.txid >= s.xmin) as pending
from (select pg_snapshot_xmin(pg_current_snapshot()) as xmin) as s
left join lateral (
    select c.txid, c.seq from hub_sync.change_log c
    where c.dataset = $1 and c.txid < s.xmin
    order by c.txid desc, c.seq desc
    limit 1
) as h on true
