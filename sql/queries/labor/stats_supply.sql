-- Statistics refresh: supply per year, quarter, occupation, district and skill level. A seeker counts in every
-- quarter that [registered_on, left_on] meets (left_on null: seeking until the end of the horizon year $1);
-- new_persons counts each seeker once per year, in the first quarter of that year it is counted in.
-- supply_key (cell-key method, sql/migrations/0015_cell_key.sql and 0017_release_stable_keys.sql): the fixed key
-- of this finest cell (year, quarter, occupation, district, level: the first 32 bits of md5(secret $2 ':' those)).
-- A coarser cell's key is the sum of the keys of the finest cells with seekers it is made of, so a cell keeps its
-- key — and a count its shift — from release to release while persons join or leave cells that already hold
-- someone, and two cells made of the same persons have the same key.
select g.*, ('x' || substr(md5($2::text || ':' || concat_ws(':', g.year, g.quarter, g.occupation_code,
                                                         g.district_code, coalesce(g.skill_level::text, ''))),
                           1, 8))::bit(32)::bigint as supply_key
from (
    select (q / 4)::smallint as year, (q % 4 + 1)::smallint as quarter, s.occupation_code, s.district_code,
           s.skill_level, count(*)::bigint as supply,
           count(*) filter (where q = greatest(b.first_q, (q / 4) * 4))::bigint as new_persons
    from labor.job_seekers s
    cross join lateral (
        select extract(year from s.registered_on)::int * 4 + (extract(month from s.registered_on)::int - 1) / 3
                   as first_q,
               extract(year from coalesce(s.left_on, make_date($1, 12, 31)))::int * 4
                   + (extract(month from coalesce(s.left_on, make_date($1, 12, 31)))::int - 1) / 3 as last_q
    ) b
    cross join lateral generate_series(b.first_q, b.last_q) as q
    group by 1, 2, 3, 4, 5
) g
