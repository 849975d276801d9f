-- Statistics refresh: annual demand per district and enterprise industry class (unknown enterprise: null).
insert into hub.stat_demand_industry (year, district_code, industry_code, section, demand)
select d.year, d.district_code, e.industry_code, e.section, sum(d.demand)::bigint
from hub.stat_stage_demand d
left join hub.stat_enterprise_sections e on e.uscc = d.enterprise_uscc
group by 1, 2, 3, 4
