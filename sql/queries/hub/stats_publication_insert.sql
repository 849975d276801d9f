-- Publishing: freeze year $1's figures $6 (computed with thresholds $5 from refresh $3, watermark $4) as the
-- next version, published by $2.
insert into hub.stat_publications (year, version, published_by, refresh_id, watermark, thresholds, figures)
select $1, coalesce(max(version), 0) + 1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb
from hub.stat_publications
where year = $1
returning year, version, published_at, published_by, refresh_id, watermark::text as watermark
