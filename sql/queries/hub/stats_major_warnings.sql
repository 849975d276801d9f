-- Major warnings of year $1: per school's major, the run of consecutive years up to $1 whose employment rate
-- (employed / graduates) is below $2 (a year without graduates or outcome breaks the run); majors with a run
-- of at least $3 years, with their outcomes of the $4 years up to $1. basis_min_graduates: the fewest graduates of
-- a year the warning rests on (the years of the run and the year that ends it), for small-cell protection.
with outcomes as (
    select major_code, major_name, school_code, school_name, district_code, year, graduates, employed,
           graduates > 0 and employed < $2::numeric * graduates as below,
           $1::int - (row_number() over (partition by major_code, school_code order by year desc))::int + 1
               as expected_year
    from hub.stat_major_outcomes
    where year <= $1::int
), runs as (
    select o.*,
           bool_and(below and year = expected_year) over (
               partition by major_code, school_code order by year desc
               rows between unbounded preceding and current row) as in_run
    from outcomes o
), bounded as (
    select r.*,
           coalesce(lag(in_run) over (partition by major_code, school_code order by year desc), false)
               and not in_run as ends_run
    from runs r
), per_major as (
    select major_code, school_code, min(major_name) as major_name, min(school_name) as school_name,
           min(district_code) as district_code,
           count(*) filter (where in_run) as years_below,
           min(graduates) filter (where in_run or ends_run) as basis_min_graduates,
           json_agg(json_build_object('year', year, 'graduates', graduates, 'employed', employed, 'below', below,
                                     'rate', (employed::numeric / nullif(graduates, 0))::float8)
                    order by year) filter (where year > $1::int - $4::int) as years
    from bounded
    group by major_code, school_code
)
select major_code, major_name, school_code, school_name, district_code, years_below, basis_min_graduates,
       years::text as years
from per_major
where years_below >= $3::int
order by years_below desc, major_code, school_code
