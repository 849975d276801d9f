-- Job-to-applicant rows of year $1 for the grouped-dimension mask $2, filtered as in stats_supply_demand, ordered
-- by the figure $8 (GAP_DESC, RATIO_DESC, DEMAND_DESC or SUPPLY_DESC; ties in key order): $9 rows from offset $10.
-- Figures from 1 to $11 - 1 persons are withheld from this reader, so they sort as unknown (last).
with page as (
    select s.occupation_code, s.district_code, s.skill_level, s.section, s.quarter, s.demand, s.supply, s.persons,
           case when $8::text = 'DEMAND_DESC' then s.demand::numeric
                when s.persons > 0 and s.persons < $11::int then null
                when $8::text = 'GAP_DESC' then (s.demand - s.supply)::numeric
                when $8::text = 'RATIO_DESC' then s.demand::numeric / nullif(s.supply, 0)
                else s.supply::numeric end as figure
    from hub.stat_supply_demand s
    where s.year = $1 and s.dims = $2
      and ($3::smallint is null or s.quarter = $3)
      and ($4::text is null or s.occupation_code = $4)
      and ($5::text is null or s.district_code = $5)
      and ($6::smallint is null or s.skill_level = $6)
      and ($7::text is null or s.section = $7)
    order by figure desc nulls last, s.occupation_code, s.district_code, s.skill_level, s.section, s.quarter
    limit $9 offset $10
)
select p.occupation_code, p.district_code, p.skill_level, p.section, p.quarter, p.demand, p.supply, p.persons,
       p.demand - p.supply as gap, (p.demand::numeric / nullif(p.supply, 0))::float8 as ratio,
       (select o.name from hub.stat_occupations o where o.code = p.occupation_code) as occupation_name,
       (select d.name from hub.districts d where d.code = p.district_code) as district_name,
       (select i.name from hub.stat_industries i where i.code = p.section) as section_name
from page p
order by p.figure desc nulls last, p.occupation_code, p.district_code, p.skill_level, p.section, p.quarter
