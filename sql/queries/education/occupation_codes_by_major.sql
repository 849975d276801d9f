-- Occupation codes mapped to each catalog major code (OccupationCodesByMajorLoader).
select major_code, occupation_code
from education.major_occupations
where major_code = any($1::text[])
order by major_code, occupation_code
