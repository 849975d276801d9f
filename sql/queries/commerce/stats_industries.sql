-- Statistics refresh: every GB/T 4754 industry with its section (the root of its branch of the tree).
with recursive tree as (
    select code, code as section from commerce.industries where parent_code is null
    union all
    select i.code, t.section from commerce.industries i join tree t on i.parent_code = t.code
)
select i.code, i.name, i.level, t.section
from commerce.industries i
left join tree t on t.code = i.code
