-- Statistics refresh: labor's data watermark (the reading snapshot's xmin, row counts and max ids).
select pg_snapshot_xmin(pg_current_snapshot())::text as snapshot_xmin, jsonb_build_object(
    'labor.occupations', (select jsonb_build_object('rows', count(*), 'maxId', max(id)) from labor.occupations),
    'labor.job_postings', (select jsonb_build_object('rows', count(*), 'maxId', max(id)) from labor.job_postings),
    'labor.job_seekers', (select jsonb_build_object('rows', count(*), 'maxId', max(id)) from labor.job_seekers),
    'labor.training_programs',
        (select jsonb_build_object('rows', count(*), 'maxId', max(id)) from labor.training_programs)
)::text as tables
