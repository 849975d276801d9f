-- The plan's count indicators: value as of the end of every year up to $1 (cumulative), in year order.
select indicator, year, value
from hub.stat_plan_counts
where year <= $1
order by indicator, year
