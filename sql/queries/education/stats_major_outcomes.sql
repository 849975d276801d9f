-- Statistics refresh: yearly outcomes of every school's major, with the school and its district, and the keys of
-- the cell-key method (sql/migrations/0015_cell_key.sql, 0017_release_stable_keys.sql). A school major's year is
-- the finest cell of the graduates (education holds counts, not persons): its key is fixed, the first 32 bits of
-- md5(secret $1 ':' school ':' major ':' year) for its graduates (0 when it has none) and of the same with ':e'
-- for its employed; a cell of the match sums the keys of the school majors it is made of. A figure keeps its key
-- — and a count its shift — from release to release while its count changes, and two cells made of the same
-- school majors have the same key.
select o.year, m.code as major_code, m.name as major_name, s.code as school_code, s.name as school_name,
       s.district_code, o.enrollment, o.graduates, o.employed,
       case when o.graduates > 0 then k.graduates_key else 0 end as graduates_key,
       case when o.employed > 0 then k.employed_key else 0 end as employed_key
from education.major_outcomes o
join education.majors m on m.id = o.major_id
join education.schools s on s.code = m.school_code
cross join lateral (
    select ('x' || substr(md5($1::text || ':' || s.code || ':' || m.code || ':' || o.year::text), 1, 8))::bit(32)::bigint
               as graduates_key,
           ('x' || substr(md5($1::text || ':' || s.code || ':' || m.code || ':' || o.year::text || ':e'), 1, 8))
               ::bit(32)::bigint as employed_key
) k
