-- Industrial parks by code (ParkByCodeLoader).
select id, code, name, district_code, area_hectares
from commerce.parks
where code = any($1::text[])
