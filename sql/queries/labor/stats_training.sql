-- Statistics refresh: training programs running in each year ([starts_on, ends_on] meets it), per occupation.
select y::smallint as year, t.occupation_code, count(*)::int as programs, sum(t.seats)::bigint as seats,
       array_agg(distinct t.provider order by t.provider) as providers
from labor.training_programs t
cross join lateral generate_series(extract(year from t.starts_on)::int, extract(year from t.ends_on)::int) as y
group by 1, 2
