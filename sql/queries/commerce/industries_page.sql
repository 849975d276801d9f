-- A page of industries: keyset on id; optional code prefix (LIKE pattern), level, name search.
select id, code, name, level, parent_code
from commerce.industries
where id > $1
  and ($3::text is null or code like $3)
  and ($4::smallint is null or level = $4)
  and ($5::text is null or name ilike $5)
order by id
limit $2
