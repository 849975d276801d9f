-- Statistics refresh (disclosure control, hub.disclosure.protect_supply): every row of year $1 with supply, its
-- exact figures and the perturbed supply the cell-key method gave it; ctid to write a moved value back (inside the
-- refresh transaction, which inserted the rows).
select ctid::text as tid, dims, occupation_code, district_code, skill_level, quarter, demand, supply, persons,
       public_supply
from hub.stat_supply_demand
where year = $1 and dims & 8 = 0
