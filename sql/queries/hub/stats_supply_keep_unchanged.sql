-- Statistics refresh (disclosure control across releases): a supply cell whose count and key are those of the
-- previous release shows the value it showed then (one the protection may have moved), not its cell-key value
-- afresh: the same view again tells a reader nothing new, and the new release's audit starts from what is
-- already published (hub.disclosure, "carried"). The join is on coalesced codes, so it can hash.
update hub.stat_supply_demand s
set public_supply = p.public_supply
from hub.stat_stage_previous_supply p
where s.dims & 8 = 0 and p.year = s.year and p.dims = s.dims
  and coalesce(p.occupation_code, '') = coalesce(s.occupation_code, '')
  and coalesce(p.district_code, '') = coalesce(s.district_code, '')
  and coalesce(p.skill_level, -1) = coalesce(s.skill_level, -1) and coalesce(p.quarter, 0) = coalesce(s.quarter, 0)
  and p.supply = s.supply and p.supply_key = s.supply_key and p.public_supply is distinct from s.public_supply
