-- A page of innovation platforms: keyset on id; optional district and kind.
select id, code, name, kind, level, host_uscc, host_school_code, district_code, established_on
from science.innovation_platforms
where id > $1
  and ($3::text is null or district_code = $3)
  and ($4::text is null or kind = $4)
order by id
limit $2
