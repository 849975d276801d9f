-- Published report versions of year $1 (null: every year), oldest first, with their withdrawals and, per year, the
-- version that replaces a withdrawn one: the latest not withdrawn (null: none, the year's page is the draft).
select p.year, p.version, p.published_at, p.published_by, p.refresh_id, p.watermark::text as watermark,
       w.withdrawn_at, w.withdrawn_by, w.reason as withdrawal_reason,
       max(p.version) filter (where w.version is null) over (partition by p.year) as replaced_by
from hub.stat_publications p
left join hub.stat_withdrawals w on w.year = p.year and w.version = p.version
where $1::smallint is null or p.year = $1
order by p.year, p.version
