-- Statistics refresh: the major -> occupation mappings (national occupation codes).
select major_code, occupation_code from education.major_occupations
