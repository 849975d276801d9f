-- Enrollment guidance: per major of the mappings, the demand in its industries in district $1 (null: the whole
-- city) over the latest 4 complete quarters and the forecast of the 4 quarters after them (a mapped code covers its
-- GB/T 4754 branch, a section letter or a code prefix; each industry class counts once per major). Industry classes
-- without a forecast there (a district's series with too little history) are left out.
with classes as (
    select distinct mi.major_code, f.industry_code, f.last_year_demand, f.forecast_demand
    from hub.stat_major_industries mi
    join hub.stat_industries i on i.code like mi.industry_code || '%' or i.section = mi.industry_code
    join hub.stat_industry_forecasts f
      on f.industry_code = i.code and coalesce(f.district_code, '') = coalesce($1::text, '')
)
select major_code, sum(last_year_demand) as last_year_demand, sum(forecast_demand) as forecast_demand
from classes
group by major_code
