-- GB/T 4754 industry codes mapped to each catalog major code (IndustryCodesByMajorLoader).
select major_code, industry_code
from education.major_industries
where major_code = any($1::text[])
order by major_code, industry_code
