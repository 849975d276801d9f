-- Statistics refresh: hub.stat_supply_demand from the staged demand (with each enterprise's section from
-- commerce's map) and supply, summed per combination of grouped dimensions (see 0008_statistics.sql): every
-- combination without occupation, occupation with at most one other dimension, and the three finest ones
-- (occupation, district, skill level [, section], quarter) from which the queries sum the other eight.
insert into hub.stat_supply_demand
    (year, dims, occupation_code, district_code, skill_level, section, quarter, demand, supply, persons)
select year, dims, occupation_code, district_code, skill_level, section, quarter, demand,
       case when (dims & 8) = 0 then supply end,
       case when (dims & 8) = 0 then persons end
from (
    select c.year,
           ((1 - grouping(c.occupation_code)) | ((1 - grouping(c.district_code)) * 2)
             | ((1 - grouping(c.skill_level)) * 4) | ((1 - grouping(c.section)) * 8)
             | ((1 - grouping(c.quarter)) * 16))::smallint as dims,
           c.occupation_code, c.district_code, c.skill_level, c.section, c.quarter,
           sum(c.demand)::bigint as demand,
           sum(c.supply)::bigint as supply,
           (case when grouping(c.quarter) = 0 then sum(c.supply) else sum(c.new_persons) end)::bigint as persons,
           count(*) filter (where c.is_demand) as demand_rows
    from (
        select d.year, d.quarter, d.occupation_code, d.district_code, d.skill_level, e.section,
               sum(d.demand)::bigint as demand, 0::bigint as supply, 0::bigint as new_persons, true as is_demand
        from hub.stat_stage_demand d
        left join hub.stat_enterprise_sections e on e.uscc = d.enterprise_uscc
        group by 1, 2, 3, 4, 5, 6
        union all
        select s.year, s.quarter, s.occupation_code, s.district_code, s.skill_level, null,
               0::bigint, s.supply, s.new_persons, false
        from hub.stat_stage_supply s
    ) c
    group by c.year, grouping sets (
        cube(c.district_code, c.skill_level, c.section, c.quarter),
        (c.occupation_code), (c.occupation_code, c.district_code), (c.occupation_code, c.skill_level),
        (c.occupation_code, c.section), (c.occupation_code, c.quarter),
        (c.occupation_code, c.district_code, c.skill_level),
        (c.occupation_code, c.district_code, c.skill_level, c.quarter),
        (c.occupation_code, c.district_code, c.skill_level, c.section, c.quarter))
) g
where (dims & 8) = 0 or demand_rows > 0
order by year, dims, occupation_code, district_code, skill_level, section, quarter  -- index order: fast inserts
