-- Statistics refresh: record the refresh and the data watermark it was computed from.
insert into hub.stat_refreshes (started_at, refreshed_at, watermark)
values ($1, clock_timestamp(), $2::jsonb)
returning id, started_at, refreshed_at, watermark::text as watermark
