-- The first issues (REJECTED or WARNING) of a batch, in input order.
select line, field, reason, raw
from hub_sync.ingest_issues
where batch_id = $1 and severity = $2
order by line
limit $3
