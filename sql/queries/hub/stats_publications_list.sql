-- Published report versions of year $1 (null: every year), oldest first.
select year, version, published_at, published_by, refresh_id, watermark::text as watermark
from hub.stat_publications
where $1::smallint is null or year = $1
order by year, version
