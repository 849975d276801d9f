-- Job-to-applicant rows of year $1 for the grouped-dimension mask $2 (see 0008_statistics.sql), filtered by
-- quarter $3, occupation $4, district $5, skill level $6 and section $7, ordered by $8, $9 rows from offset $10.
select s.occupation_code, o.name as occupation_name, s.district_code, d.name as district_name, s.skill_level,
       s.section, i.name as section_name, s.quarter, s.demand, s.supply, s.persons,
       s.demand - s.supply as gap,
       (s.demand::numeric / nullif(s.supply, 0))::float8 as ratio
from hub.stat_supply_demand s
left join hub.stat_occupations o on o.code = s.occupation_code
left join hub.districts d on d.code = s.district_code
left join hub.stat_industries i on i.code = s.section
where s.year = $1 and s.dims = $2
  and ($3::smallint is null or s.quarter = $3)
  and ($4::text is null or s.occupation_code = $4)
  and ($5::text is null or s.district_code = $5)
  and ($6::smallint is null or s.skill_level = $6)
  and ($7::text is null or s.section = $7)
order by
  case when $8::text = 'GAP_DESC' then s.demand - s.supply end desc nulls last,
  case when $8::text = 'RATIO_DESC' then s.demand::numeric / nullif(s.supply, 0) end desc nulls last,
  case when $8::text = 'DEMAND_DESC' then s.demand end desc,
  case when $8::text = 'SUPPLY_DESC' then s.supply end desc nulls last,
  s.occupation_code, s.district_code, s.skill_level nulls last, s.section nulls last, s.quarter
limit $9 offset $10
