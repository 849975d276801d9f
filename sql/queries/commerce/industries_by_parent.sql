-- Child industries of each parent code (IndustriesByParentLoader), in code order.
select id, code, name, level, parent_code
from commerce.industries
where parent_code = any($1::text[])
order by code
