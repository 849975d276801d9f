-- Job-to-applicant rows of year $1 for the grouped-dimension mask $2 (see 0008_statistics.sql), filtered by
-- quarter $3, occupation $4, district $5, skill level $6 and section $7, in key order (the index's): $8 rows
-- from offset $9. Supply is the exact one when $10 (the reader owns the seekers), else the perturbed one
-- (cell-key method, 0015_cell_key.sql); ratio and gap are computed from the supply shown. A non-owner gets no row
-- without demand whose supply is shown as 0 (its existence would tell that someone seeks there). Names are
-- looked up for the page only.
with page as (
    select s.occupation_code, s.district_code, s.skill_level, s.section, s.quarter, s.demand,
           case when $10::boolean then s.supply else s.public_supply end as supply
    from hub.stat_supply_demand s
    where s.year = $1 and s.dims = $2
      and ($3::smallint is null or s.quarter = $3)
      and ($4::text is null or s.occupation_code = $4)
      and ($5::text is null or s.district_code = $5)
      and ($6::smallint is null or s.skill_level = $6)
      and ($7::text is null or s.section = $7)
      and ($10::boolean or s.demand > 0 or s.public_supply > 0)
    order by s.occupation_code, s.district_code, s.skill_level, s.section, s.quarter
    limit $8 offset $9
)
select p.occupation_code, p.district_code, p.skill_level, p.section, p.quarter, p.demand, p.supply,
       p.demand - p.supply as gap, (p.demand::numeric / nullif(p.supply, 0))::float8 as ratio,
       (select o.name from hub.stat_occupations o where o.code = p.occupation_code) as occupation_name,
       (select d.name from hub.districts d where d.code = p.district_code) as district_name,
       (select i.name from hub.stat_industries i where i.code = p.section) as section_name
from page p
order by p.occupation_code, p.district_code, p.skill_level, p.section, p.quarter
