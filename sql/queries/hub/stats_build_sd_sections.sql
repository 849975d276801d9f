-- Statistics refresh, step 4 of hub.stat_supply_demand: every coarser grouping with the industry section
-- (demand only: seekers seek an occupation, not an industry), summed from the finest section rows (31).
insert into hub.stat_supply_demand
    (year, dims, occupation_code, district_code, skill_level, section, quarter, demand, supply, persons)
select f.year,
       (8 | (1 - grouping(f.occupation_code)) | ((1 - grouping(f.district_code)) * 2)
           | ((1 - grouping(f.skill_level)) * 4) | ((1 - grouping(f.quarter)) * 16))::smallint as dims,
       f.occupation_code, f.district_code, f.skill_level, f.section, f.quarter,
       sum(f.demand)::bigint, null::bigint, null::bigint
from hub.stat_supply_demand f
where f.dims = 31
group by f.year, f.section, grouping sets (
    (f.occupation_code, f.district_code, f.skill_level), (f.occupation_code, f.district_code, f.quarter),
    (f.occupation_code, f.skill_level, f.quarter), (f.district_code, f.skill_level, f.quarter),
    (f.occupation_code, f.district_code), (f.occupation_code, f.skill_level), (f.occupation_code, f.quarter),
    (f.district_code, f.skill_level), (f.district_code, f.quarter), (f.skill_level, f.quarter),
    (f.occupation_code), (f.district_code), (f.skill_level), (f.quarter), ())
order by 1, 2, 3, 4, 5, 6, 7
