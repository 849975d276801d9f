-- The latest statistics refresh and its data watermark (none before the first refresh).
select id, started_at, refreshed_at, watermark::text as watermark
from hub.stat_refreshes
order by id desc
limit 1
