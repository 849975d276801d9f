-- Majors mapped to each industry code, to a class below it or to a class above it (MajorsByIndustryLoader).
-- Numeric GB/T 4754 codes are prefix-hierarchical (39 > 398 > 3982), so the match is by prefix.
select distinct on (k.code, m.code, m.school_code)
       k.code as industry_key, m.id, m.code, m.name, m.school_code
from unnest($1::text[]) as k(code)
join education.major_industries mi
  on mi.industry_code like k.code || '%' or k.code like mi.industry_code || '%'
join education.majors m on m.code = mi.major_code
order by k.code, m.code, m.school_code
