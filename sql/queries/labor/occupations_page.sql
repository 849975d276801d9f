-- A page of occupations: keyset on id; optional code prefix (LIKE pattern), name search, major group.
select id, code, name, major_group
from labor.occupations
where id > $1
  and ($3::text is null or code like $3)
  and ($4::text is null or name ilike $4)
  and ($5::smallint is null or major_group = $5)
order by id
limit $2
