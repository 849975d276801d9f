-- Statistics refresh: annual demand per district in the industries mapped to each major. A mapped code covers
-- its whole branch of GB/T 4754 (a section letter, a 2/3-digit prefix, or a class); each class counts once.
with classes as (
    select distinct mi.major_code, i.code as industry_code
    from hub.stat_major_industries mi
    join hub.stat_industries i on i.code like mi.industry_code || '%' or i.section = mi.industry_code
)
insert into hub.stat_major_demand (year, district_code, major_code, demand)
select y.year, y.district_code, c.major_code, sum(y.demand)::bigint
from hub.stat_demand_industry y
join classes c on c.industry_code = y.industry_code
group by 1, 2, 3
