-- The catalog names and categories of the major codes $1 (enrollment guidance).
select code, name, category
from education.major_catalog
where code = any($1::text[])
