-- Statistics refresh, step 2 of hub.stat_supply_demand: every coarser grouping with the quarter and without
-- the section, summed from the finest quarterly rows (23); a quarter's supply counts each seeker once. The key
-- sums add up like the counts, so public_supply is the perturbation of the group's own records.
insert into hub.stat_supply_demand
    (year, dims, occupation_code, district_code, skill_level, section, quarter, demand, supply, persons, supply_key,
     public_supply)
select f.year,
       (16 | (1 - grouping(f.occupation_code)) | ((1 - grouping(f.district_code)) * 2)
           | ((1 - grouping(f.skill_level)) * 4))::smallint as dims,
       f.occupation_code, f.district_code, f.skill_level, null, f.quarter,
       sum(f.demand)::bigint, sum(f.supply)::bigint, sum(f.persons)::bigint, sum(f.supply_key)::bigint,
       hub.stat_perturbed(sum(f.supply)::bigint, sum(f.supply_key)::bigint)
from hub.stat_supply_demand f
where f.dims = 23
group by f.year, f.quarter, grouping sets ((f.occupation_code, f.district_code), (f.occupation_code, f.skill_level),
    (f.district_code, f.skill_level), (f.occupation_code), (f.district_code), (f.skill_level), ())
order by 1, 2, 3, 4, 5, 7
