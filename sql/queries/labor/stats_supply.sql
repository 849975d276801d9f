-- Statistics refresh: supply per year, quarter, occupation, district and skill level. A seeker counts in every
-- quarter that [registered_on, left_on] meets (left_on null: seeking until the end of the horizon year $1);
-- new_persons counts each seeker once per year, in the first quarter of that year it is counted in.
-- supply_key: Σ of the record keys of the seekers counted (cell-key method, sql/migrations/0015_cell_key.sql).
-- Supply counts seeker-quarters, so a record is a seeker in a quarter: its key is the first 32 bits of
-- md5(secret $2 || ':' || id || ':' || quarter number), fixed for as long as the secret is (a key per quarter
-- keeps the noise of one person's four quarters independent).
select (q / 4)::smallint as year, (q % 4 + 1)::smallint as quarter, s.occupation_code, s.district_code,
       s.skill_level, count(*)::bigint as supply,
       count(*) filter (where q = greatest(b.first_q, (q / 4) * 4))::bigint as new_persons,
       sum(k.record_key)::bigint as supply_key
from labor.job_seekers s
cross join lateral (
    select extract(year from s.registered_on)::int * 4 + (extract(month from s.registered_on)::int - 1) / 3
               as first_q,
           extract(year from coalesce(s.left_on, make_date($1, 12, 31)))::int * 4
               + (extract(month from coalesce(s.left_on, make_date($1, 12, 31)))::int - 1) / 3 as last_q
) b
cross join lateral generate_series(b.first_q, b.last_q) as q
cross join lateral (
    select ('x' || substr(md5($2::text || ':' || s.id::text || ':' || q::text), 1, 8))::bit(32)::bigint as record_key
) k
group by 1, 2, 3, 4, 5
