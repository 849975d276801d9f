-- Occupations by national occupational classification code (OccupationByCodeLoader).
select id, code, name, major_group
from labor.occupations
where code = any($1::text[])
