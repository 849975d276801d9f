-- Majors whose catalog code is mapped to each exact industry code (MajorsByIndustryLoader).
select mi.industry_code, m.id, m.code, m.name, m.school_code
from education.major_industries mi
join education.majors m on m.code = mi.major_code
where mi.industry_code = any($1::text[])
order by mi.industry_code, m.code, m.school_code
