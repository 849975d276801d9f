-- Statistics refresh: the major -> industry mappings (GB/T 4754 codes of any level).
select major_code, industry_code from education.major_industries
