-- Statistics refresh: each enterprise's industry class and GB/T 4754 section, by unified social credit code.
with recursive tree as (
    select code, code as section from commerce.industries where parent_code is null
    union all
    select i.code, t.section from commerce.industries i join tree t on i.parent_code = t.code
)
select e.uscc, e.industry_code, t.section
from commerce.enterprises e
left join tree t on t.code = e.industry_code
