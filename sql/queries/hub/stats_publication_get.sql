-- One published report of year $1: version $2, or the latest when $2 is null.
select year, version, published_at, published_by, refresh_id, watermark::text as watermark,
       thresholds::text as thresholds, figures::text as figures
from hub.stat_publications
where year = $1 and ($2::integer is null or version = $2)
order by version desc
limit 1
