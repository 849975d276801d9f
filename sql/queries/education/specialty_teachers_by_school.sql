-- First N specialty teachers per school code after a cursor (TeachersBySchoolLoader); optional dual-qualified flag.
select t.*
from unnest($1::text[]) as k(school_code)
cross join lateral (
    select t.id, t.staff_no, t.name, t.school_code, t.major_code, t.dual_qualified, t.dual_qualified_since,
           t.hired_on, t.left_on
    from education.specialty_teachers t
    where t.school_code = k.school_code
      and t.id > $2
      and ($4::boolean is null or t.dual_qualified = $4)
    order by t.id
    limit $3
) t
