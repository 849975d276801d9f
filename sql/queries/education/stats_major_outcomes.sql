-- Statistics refresh: yearly outcomes of every school's major, with the school and its district, and the key
-- sums of the cell-key method (sql/migrations/0015_cell_key.sql). Outcomes are counts, not person rows, so the
-- i-th graduate of an outcome gets the key (h + i * 2654435769) mod 2^32, h = first 32 bits of
-- md5(secret $1 || ':' || school || ':' || major || ':' || year); the employed are the first `employed` of them.
-- Σ over i = 1..n of those keys = n * h + 2654435769 * n * (n + 1) / 2 (mod 2^32).
select o.year, m.code as major_code, m.name as major_name, s.code as school_code, s.name as school_name,
       s.district_code, o.enrollment, o.graduates, o.employed,
       mod(o.graduates::numeric * k.h + 2654435769::numeric * o.graduates * (o.graduates + 1) / 2,
           4294967296)::bigint as graduates_key,
       mod(o.employed::numeric * k.h + 2654435769::numeric * o.employed * (o.employed + 1) / 2,
           4294967296)::bigint as employed_key
from education.major_outcomes o
join education.majors m on m.id = o.major_id
join education.schools s on s.code = m.school_code
cross join lateral (
    select ('x' || substr(md5($1::text || ':' || s.code || ':' || m.code || ':' || o.year::text), 1, 8))::bit(32)::bigint
               as h
) k
