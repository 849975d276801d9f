-- Statistics refresh (forecasts): quarterly demand, exact supply and the supply non-owners are shown, per
-- occupation city-wide (dims 17: occupation + quarter) and per occupation and district (dims 19), up to the
-- quarter index $1 (year * 4 + quarter - 1) of the latest complete quarter. Quarters without a row had neither
-- postings nor seekers (0).
select occupation_code, district_code, year * 4 + quarter - 1 as q, demand, coalesce(supply, 0) as supply,
       coalesce(public_supply, 0) as public_supply
from hub.stat_supply_demand
where dims in (17, 19) and year * 4 + quarter - 1 <= $1 and occupation_code is not null
order by occupation_code, district_code nulls first, q
