-- Major warnings of year $1: per school's major, the run of consecutive years up to $1 whose employment rate
-- (employed / graduates) is below $2 (a year without graduates or outcome breaks the run); majors with a run
-- of at least $3 years, with their outcomes of the $4 years up to $1. Graduates and employed are exact when $5
-- (the reader owns them), else as the refresh stored them for non-owners (cell-key method, 0015_cell_key.sql;
-- employed shown at most graduates): the rates, the run and the level are computed from the figures shown.
with shown as (
    select major_code, major_name, school_code, school_name, district_code, year,
           case when $5::boolean then graduates else public_graduates end as graduates,
           case when $5::boolean then employed else least(public_employed, public_graduates) end as employed
    from hub.stat_major_outcomes
    where year <= $1::int
), outcomes as (
    select s.*,
           graduates > 0 and employed < $2::numeric * graduates as below,
           $1::int - (row_number() over (partition by major_code, school_code order by year desc))::int + 1
               as expected_year
    from shown s
), runs as (
    select o.*,
           bool_and(below and year = expected_year) over (
               partition by major_code, school_code order by year desc
               rows between unbounded preceding and current row) as in_run
    from outcomes o
), per_major as (
    select major_code, school_code, min(major_name) as major_name, min(school_name) as school_name,
           min(district_code) as district_code,
           count(*) filter (where in_run) as years_below,
           json_agg(json_build_object('year', year, 'graduates', graduates, 'employed', employed, 'below', below,
                                     'rate', (employed::numeric / nullif(graduates, 0))::float8)
                    order by year) filter (where year > $1::int - $4::int) as years
    from runs
    group by major_code, school_code
)
select major_code, major_name, school_code, school_name, district_code, years_below, years::text as years
from per_major
where years_below >= $3::int
order by years_below desc, major_code, school_code
