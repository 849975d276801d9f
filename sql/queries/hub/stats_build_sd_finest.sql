-- Statistics refresh, step 1 of hub.stat_supply_demand (see 0008_statistics.sql for the dims mask): the finest
-- rows from the staged demand (with each enterprise's section from commerce's map) and supply — occupation x
-- district x skill level x quarter (23), the same with the section (31, demand only), and the year per
-- occupation x district x skill level (7, persons = each seeker once in the year). public_supply is the supply
-- non-owners see: hub.stat_perturbed(supply, Σ record keys) (cell-key method, 0015_cell_key.sql).
insert into hub.stat_supply_demand
    (year, dims, occupation_code, district_code, skill_level, section, quarter, demand, supply, persons, supply_key,
     public_supply)
select year, dims, occupation_code, district_code, skill_level, section, quarter, demand,
       case when (dims & 8) = 0 then supply end,
       case when (dims & 8) = 0 then persons end,
       case when (dims & 8) = 0 then supply_key end,
       case when (dims & 8) = 0 then hub.stat_perturbed(supply, supply_key) end
from (
    select c.year,
           (case when grouping(c.section) = 0 then 31 when grouping(c.quarter) = 0 then 23 else 7 end)::smallint
               as dims,
           c.occupation_code, c.district_code, c.skill_level, c.section, c.quarter,
           sum(c.demand)::bigint as demand,
           sum(c.supply)::bigint as supply,
           (case when grouping(c.quarter) = 0 then sum(c.supply) else sum(c.new_persons) end)::bigint as persons,
           sum(c.supply_key)::bigint as supply_key,
           count(*) filter (where c.is_demand) as demand_rows
    from (
        select d.year, d.quarter, d.occupation_code, d.district_code, d.skill_level, e.section,
               sum(d.demand)::bigint as demand, 0::bigint as supply, 0::bigint as new_persons, 0::bigint as supply_key,
               true as is_demand
        from hub.stat_stage_demand d
        left join hub.stat_enterprise_sections e on e.uscc = d.enterprise_uscc
        group by 1, 2, 3, 4, 5, 6
        union all
        select s.year, s.quarter, s.occupation_code, s.district_code, s.skill_level, null,
               0::bigint, s.supply, s.new_persons, s.supply_key, false
        from hub.stat_stage_supply s
    ) c
    group by c.year, grouping sets (
        (c.occupation_code, c.district_code, c.skill_level, c.section, c.quarter),
        (c.occupation_code, c.district_code, c.skill_level, c.quarter),
        (c.occupation_code, c.district_code, c.skill_level))
) g
where dims <> 31 or demand_rows > 0
order by year, dims, occupation_code, district_code, skill_level, section, quarter  -- index order: fast inserts
