-- A page of one dataset's change feed after position ($2, $3): only changes of transactions older than
-- the snapshot's xmin (ended: no older transaction can still commit behind them), in (txid, seq) order,
-- skipping the transactions visible in the cursor's snapshot $4 (already in that snapshot's rows).
select txid, seq, op::text as op, row_id, data, at
from hub_sync.change_log
where dataset = $1
  and (txid, seq) > ($2::xid8, $3::bigint)
  and txid < pg_snapshot_xmin(pg_current_snapshot())
  and ($4::text is null or not pg_visible_in_snapshot(txid, $4::text::pg_snapshot))
order by txid, seq
limit $5
