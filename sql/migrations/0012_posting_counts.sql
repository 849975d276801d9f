-- The number of job postings per occupation, maintained by triggers (issue 7: Occupation.postingCount).
-- Counting at read time costs the database ~130,000 index entries for the 50 most common occupations of
-- the `large` demo data; this table answers the same figure from a few rows per occupation.
--
-- The table holds signed deltas: statement-level triggers with transition tables append one row per
-- occupation and statement (an INSERT adds, a DELETE subtracts, an UPDATE that moves postings between
-- occupations does both). Appending takes no lock on a shared counter row, so concurrent writers never
-- wait for (or deadlock on) each other here. An occupation's count is the sum of its rows; the hub folds
-- the rows of each occupation into one every few seconds (sql/queries/labor/posting_counts_compact.sql,
-- safe to run concurrently). TRUNCATE of the postings empties the table.
-- Consistency under concurrent writers and compaction is tested in tests/test_posting_counts.py.

create table labor.occupation_posting_counts (
    occupation_code text not null,
    n bigint not null
);

create index occupation_posting_counts_code_idx on labor.occupation_posting_counts (occupation_code);

comment on table labor.occupation_posting_counts is
    'Signed deltas of the number of job postings per occupation code (sum per code = its count), appended '
    'by triggers on labor.job_postings and compacted by the hub (Occupation.postingCount).';

create function labor.posting_counts_apply() returns trigger
language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into labor.occupation_posting_counts (occupation_code, n)
    select occupation_code, count(*) from new_rows group by occupation_code;
  elsif tg_op = 'DELETE' then
    insert into labor.occupation_posting_counts (occupation_code, n)
    select occupation_code, -count(*) from old_rows group by occupation_code;
  else  -- UPDATE: only postings whose occupation changed move between occupations
    insert into labor.occupation_posting_counts (occupation_code, n)
    select occupation_code, sum(delta)
    from (select occupation_code, 1 as delta from new_rows
          union all
          select occupation_code, -1 from old_rows) moved
    group by occupation_code
    having sum(delta) <> 0;
  end if;
  return null;
end
$$;

create function labor.posting_counts_clear() returns trigger
language plpgsql as $$
begin
  delete from labor.occupation_posting_counts;
  return null;
end
$$;

-- No posting may change while the triggers are created and the table is filled.
lock table labor.job_postings in share row exclusive mode;

create trigger job_postings_counts_insert after insert on labor.job_postings
  referencing new table as new_rows for each statement execute function labor.posting_counts_apply();
create trigger job_postings_counts_update after update on labor.job_postings
  referencing old table as old_rows new table as new_rows
  for each statement execute function labor.posting_counts_apply();
create trigger job_postings_counts_delete after delete on labor.job_postings
  referencing old table as old_rows for each statement execute function labor.posting_counts_apply();
create trigger job_postings_counts_truncate after truncate on labor.job_postings
  for each statement execute function labor.posting_counts_clear();

insert into labor.occupation_posting_counts (occupation_code, n)
select occupation_code, count(*) from labor.job_postings group by occupation_code;
