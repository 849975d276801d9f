-- The feed reader's snapshot xmin and the dataset's retention horizon (run in the page's REPEATABLE READ
-- transaction, so both describe the same snapshot as the page itself).
select pg_snapshot_xmin(pg_current_snapshot()) as xmin, h.txid as horizon_txid, h.seq as horizon_seq
from (select 1) as one
left join hub_sync.horizon h on h.dataset = $1
