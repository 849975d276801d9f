-- Districts whose schools had outcomes in year $1 (the districts of the major-industry match), with names.
select distinct o.district_code, d.name as district_name
from hub.stat_major_outcomes o
left join hub.districts d on d.code = o.district_code
where o.year = $1
order by o.district_code
