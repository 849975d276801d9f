-- Statistics refresh (forecasts): quarterly demand per industry class of the posting enterprise (commerce's map;
-- enterprises unknown to commerce are left out), city-wide (district_code null) and per district, up to the
-- quarter index $1 of the latest complete quarter.
select e.industry_code, d.district_code, d.year * 4 + d.quarter - 1 as q, sum(d.demand)::bigint as demand
from hub.stat_stage_demand d
join hub.stat_enterprise_sections e on e.uscc = d.enterprise_uscc
where d.year * 4 + d.quarter - 1 <= $1
group by grouping sets ((e.industry_code, d.district_code, d.year, d.quarter), (e.industry_code, d.year, d.quarter))
order by 1, 2 nulls first, 3
