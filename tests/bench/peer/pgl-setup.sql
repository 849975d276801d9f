-- PostGraphile peer: computed columns for the two hub fields that no (virtual) foreign key can express.
-- Idempotent; the side-by-side bench (tests/bench/peer) applies it to the bench database before starting PostGraphile. PostGraphile
-- v4 only picks up a computed column whose function lives in the table's own schema and is named
-- <table>_<field>, STABLE, with the row as its first argument. The hub ignores these functions.

-- Industry.majors: the hub's sql/queries/education/majors_by_industry.sql for one industry — majors
-- mapped to this industry code, to a class below it or above it (numeric GB/T 4754 codes are prefix
-- hierarchical), one row per (major code, school), in the hub's order. GraphQL: Industry.majorsList.
create or replace function commerce.industries_majors(i commerce.industries)
returns setof education.majors
language sql stable parallel safe as $$
  select distinct on (m.code, m.school_code) m.*
  from education.major_industries mi
  join education.majors m on m.code = mi.major_code
  where mi.industry_code like i.code || '%' or i.code like mi.industry_code || '%'
  order by m.code, m.school_code
$$;

-- Occupation.postingCount from the same trigger-maintained counter table the hub reads
-- (sql/queries/labor/posting_counts_by_occupation.sql, migration 0012). GraphQL: Occupation.postingCount.
-- Only the pair occupation_counts_counter uses it; occupation_counts uses PostGraphile's own totalCount.
create or replace function labor.occupations_posting_count(o labor.occupations)
returns integer
language sql stable parallel safe as $$
  select sum(n)::int from labor.occupation_posting_counts where occupation_code = o.code
$$;
