-- Enrollment guidance: the schools of district $2 (null: the whole city) teaching each major in year $1 (those
-- with an outcome row that year), with the major's catalog name when the catalog has it.
select o.major_code, coalesce(c.name, min(o.major_name)) as major_name, c.category,
       json_agg(json_build_object('code', o.school_code, 'name', o.school_name, 'districtCode', o.district_code)
                order by o.school_code) as schools
from hub.stat_major_outcomes o
left join hub.stat_major_catalog c on c.code = o.major_code
where o.year = $1 and ($2::text is null or o.district_code = $2::text)
group by o.major_code, c.name, c.category
order by o.major_code
