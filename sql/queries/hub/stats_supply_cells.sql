-- Statistics refresh (disclosure control, resolvers.analytics.disclosure.protect_supply): every row of year $1 with
-- supply, its exact figures and the perturbed supply the cell-key method gave it, with the same cell of the previous
-- release (prev_*: null when it had no such row); ctid to write a moved value back (inside the refresh transaction,
-- which inserted the rows). The join is on coalesced codes, so it can hash.
select s.ctid::text as tid, s.dims, s.occupation_code, s.district_code, s.skill_level, s.quarter, s.demand,
       s.supply, s.persons, s.supply_key, s.public_supply, p.demand as prev_demand, p.supply as prev_supply,
       p.persons as prev_persons, p.supply_key as prev_supply_key, p.public_supply as prev_public_supply
from hub.stat_supply_demand s
left join hub.stat_stage_previous_supply p
    on p.year = $1 and p.dims = s.dims and coalesce(p.occupation_code, '') = coalesce(s.occupation_code, '')
   and coalesce(p.district_code, '') = coalesce(s.district_code, '')
   and coalesce(p.skill_level, -1) = coalesce(s.skill_level, -1) and coalesce(p.quarter, 0) = coalesce(s.quarter, 0)
where s.year = $1 and s.dims & 8 = 0
