-- demandForecast: the stored forecasts of occupation $1 (null: every occupation) in district $2 (null: the whole
-- city) for the first $3 quarters after the data, with the occupation's and the district's names.
select f.*, o.name as occupation_name, d.name as district_name
from hub.stat_forecasts f
left join hub.stat_occupations o on o.code = f.occupation_code
left join hub.districts d on d.code = f.district_code
where ($1::text is null or f.occupation_code = $1::text)
  and coalesce(f.district_code, '') = coalesce($2::text, '')
  and f.step <= $3
order by f.occupation_code, f.step
