-- The batch under (dataset, Idempotency-Key): own = whether it is consumer $3's; its report only if so
-- (this consumer's batch first, should a batch without a consumer share the key).
select consumer_id is not distinct from $3 as own,
       case when consumer_id is not distinct from $3 then report end as report
from hub_sync.ingest_batches
where dataset = $1 and idempotency_key = $2
order by own desc
limit 1
