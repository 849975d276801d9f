-- Published report versions of year $1 (null: every year), oldest first, with their withdrawals.
select p.year, p.version, p.published_at, p.published_by, p.refresh_id, p.watermark::text as watermark,
       w.withdrawn_at, w.withdrawn_by, w.reason as withdrawal_reason
from hub.stat_publications p
left join hub.stat_withdrawals w on w.year = p.year and w.version = p.version
where $1::smallint is null or p.year = $1
order by p.year, p.version
