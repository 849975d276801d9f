-- Job-to-applicant rows of year $1 for the grouped-dimension mask $2, filtered as in stats_supply_demand, ordered
-- by the figure $8 (GAP_DESC, RATIO_DESC, DEMAND_DESC or SUPPLY_DESC; ties in key order): $9 rows from offset $10.
-- Supply (and the figures ordered by) is the exact one when $11 (the reader owns the seekers), else the perturbed
-- one (cell-key method, 0015_cell_key.sql): the order never rests on a figure the reader is not shown. As in
-- stats_supply_demand, a non-owner gets no row without demand whose supply is shown as 0.
with page as (
    select s.occupation_code, s.district_code, s.skill_level, s.section, s.quarter, s.demand, v.supply,
           case when $8::text = 'DEMAND_DESC' then s.demand::numeric
                when $8::text = 'GAP_DESC' then (s.demand - v.supply)::numeric
                when $8::text = 'RATIO_DESC' then s.demand::numeric / nullif(v.supply, 0)
                else v.supply::numeric end as figure
    from hub.stat_supply_demand s
    cross join lateral (select case when $11::boolean then s.supply else s.public_supply end as supply) v
    where s.year = $1 and s.dims = $2
      and ($3::smallint is null or s.quarter = $3)
      and ($4::text is null or s.occupation_code = $4)
      and ($5::text is null or s.district_code = $5)
      and ($6::smallint is null or s.skill_level = $6)
      and ($7::text is null or s.section = $7)
      and ($11::boolean or s.demand > 0 or s.public_supply > 0)
    order by figure desc nulls last, s.occupation_code, s.district_code, s.skill_level, s.section, s.quarter
    limit $9 offset $10
)
select p.occupation_code, p.district_code, p.skill_level, p.section, p.quarter, p.demand, p.supply,
       p.demand - p.supply as gap, (p.demand::numeric / nullif(p.supply, 0))::float8 as ratio,
       (select o.name from hub.stat_occupations o where o.code = p.occupation_code) as occupation_name,
       (select d.name from hub.districts d where d.code = p.district_code) as district_name,
       (select i.name from hub.stat_industries i where i.code = p.section) as section_name
from page p
order by p.figure desc nulls last, p.occupation_code, p.district_code, p.skill_level, p.section, p.quarter
