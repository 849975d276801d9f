-- Training catalog of year $1: occupations with at least one program running in the year, their programs,
-- seats and providers, marked shortage when in $2 (the year's shortage occupation codes).
select t.occupation_code, o.name as occupation_name, t.programs, t.seats, t.providers,
       t.occupation_code = any($2::text[]) as shortage
from hub.stat_training t
left join hub.stat_occupations o on o.code = t.occupation_code
where t.year = $1
order by t.occupation_code
