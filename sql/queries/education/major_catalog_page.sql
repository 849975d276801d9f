-- A page of the national vocational major catalog: keyset on id; optional code prefix, category, name search.
select id, code, name, category
from education.major_catalog
where id > $1
  and ($3::text is null or code like $3)
  and ($4::text is null or category = $4)
  and ($5::text is null or name ilike $5)
order by id
limit $2
