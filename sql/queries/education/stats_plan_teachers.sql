-- Statistics refresh (the plan's indicators, issue 16): per school of the register and year $2..$3, the specialty
-- teachers on its staff on 31 December (hired on or before it, not left by then) and the dual-qualified among them
-- (qualified in that year or before), with the keys of the cell-key method (sql/migrations/0017_release_stable_keys.sql): the
-- finest cells are a school's teachers of a year and its dual-qualified of a year, keyed by the first 32 bits of
-- md5(secret $1 || ':teachers:' (or ':dual:') || school || ':' || year) when someone is in them (0 otherwise), so a
-- cell keeps its key, and its noise, while teachers join or leave it. Every school has a row every year, 0 without
-- teachers: a row only for schools with teachers would tell a non-owner that a school shown with 0 has 1-2
-- (tests/test_plan_leaks.py).
select y.year::smallint as year, s.code as school_code, s.name as school_name, s.district_code,
       count(t.id)::bigint as teachers,
       case when count(t.id) > 0
            then ('x' || substr(md5($1::text || ':teachers:' || s.code || ':' || y.year::text), 1, 8))::bit(32)::bigint
            else 0 end as teachers_key,
       count(t.id) filter (where t.dual_qualified_since <= y.year)::bigint as dual,
       case when count(t.id) filter (where t.dual_qualified_since <= y.year) > 0
            then ('x' || substr(md5($1::text || ':dual:' || s.code || ':' || y.year::text), 1, 8))::bit(32)::bigint
            else 0 end as dual_key
from generate_series($2::int, $3::int) as y(year)
cross join education.schools s
left join education.specialty_teachers t
  on t.school_code = s.code and t.hired_on <= make_date(y.year, 12, 31)
 and (t.left_on is null or t.left_on > make_date(y.year, 12, 31))
group by y.year, s.code, s.name, s.district_code
order by y.year, s.code
