-- forecastAccuracy: the backtest of measure $1 (DEMAND or SUPPLY), the overall row (occupation_code null) first,
-- then every occupation's (or only occupation $2's), with the occupation's name.
select a.*, o.name as occupation_name
from hub.stat_forecast_accuracy a
left join hub.stat_occupations o on o.code = a.occupation_code
where a.measure = $1 and (a.occupation_code is null or $2::text is null or a.occupation_code = $2::text)
order by a.occupation_code nulls first
