-- Statistics refresh: education's data watermark (the reading snapshot's xmin, row counts and max ids).
select pg_snapshot_xmin(pg_current_snapshot())::text as snapshot_xmin, jsonb_build_object(
    'education.schools', (select jsonb_build_object('rows', count(*), 'maxId', max(id)) from education.schools),
    'education.majors', (select jsonb_build_object('rows', count(*), 'maxId', max(id)) from education.majors),
    'education.major_outcomes',
        (select jsonb_build_object('rows', count(*), 'maxId', max(id)) from education.major_outcomes),
    'education.major_industries', (select jsonb_build_object('rows', count(*)) from education.major_industries)
)::text as tables
