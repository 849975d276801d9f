-- Statistics refresh: commerce's data watermark (the reading snapshot's xmin, row counts and max ids).
select pg_snapshot_xmin(pg_current_snapshot())::text as snapshot_xmin, jsonb_build_object(
    'commerce.industries', (select jsonb_build_object('rows', count(*), 'maxId', max(id)) from commerce.industries),
    'commerce.enterprises', (select jsonb_build_object('rows', count(*), 'maxId', max(id)) from commerce.enterprises)
)::text as tables
