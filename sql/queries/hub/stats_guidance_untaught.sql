-- Enrollment guidance (OPEN): the catalog majors no school of district $2 (null: the city) teaches in year $1,
-- with the occupations they are mapped to among $3 (the year's shortage occupations).
select c.code as major_code, c.name as major_name, c.category,
       coalesce(array_agg(mo.occupation_code order by mo.occupation_code)
                filter (where mo.occupation_code is not null), '{}') as shortage_occupations
from hub.stat_major_catalog c
left join hub.stat_major_occupations mo on mo.major_code = c.code and mo.occupation_code = any($3::text[])
where not exists (select from hub.stat_major_outcomes o
                  where o.year = $1 and o.major_code = c.code and ($2::text is null or o.district_code = $2::text))
group by c.code, c.name, c.category
order by c.code
