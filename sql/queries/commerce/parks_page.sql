-- A page of industrial parks, optional district.
select id, code, name, district_code, area_hectares
from commerce.parks
where id > $1 and ($3::text is null or district_code = $3)
order by id
limit $2
