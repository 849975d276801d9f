-- Statistics refresh (the plan's indicators, issue 16): per school and year $2..$3, the specialty teachers on its
-- staff on 31 December (hired on or before it, not left by then) and the dual-qualified among them (qualified in
-- that year or before), with the key sums of the cell-key method (sql/migrations/0015_cell_key.sql): a teacher in
-- a year is a record whose key is the first 32 bits of md5(secret $1 || ':teacher:' || id || ':' || year); the
-- dual-qualified keep their key.
select y.year::smallint as year, s.code as school_code, s.name as school_name, s.district_code,
       count(*)::bigint as teachers, sum(k.record_key)::bigint as teachers_key,
       count(*) filter (where t.dual_qualified_since <= y.year)::bigint as dual,
       coalesce(sum(k.record_key) filter (where t.dual_qualified_since <= y.year), 0)::bigint as dual_key
from generate_series($2::int, $3::int) as y(year)
join education.specialty_teachers t
  on t.hired_on <= make_date(y.year, 12, 31) and (t.left_on is null or t.left_on > make_date(y.year, 12, 31))
join education.schools s on s.code = t.school_code
cross join lateral (
    select ('x' || substr(md5($1::text || ':teacher:' || t.id::text || ':' || y.year::text), 1, 8))::bit(32)::bigint
               as record_key
) k
group by y.year, s.code, s.name, s.district_code
order by y.year, s.code
