-- Industries by GB/T 4754 code (IndustryByCodeLoader).
select id, code, name, level, parent_code
from commerce.industries
where code = any($1::text[])
