-- Statistics refresh (forecasts): the quarters the forecasts are fitted on, as quarter indexes (year * 4 +
-- quarter - 1): from the first quarter with demand to the latest complete one — the latest quarter with demand, but
-- never after labor's horizon year $1 (later quarters hold only postings and seekers carried over from it), nor
-- the quarter the refresh runs in or a later one (a quarter still under way is not complete). Quarters with demand,
-- not with seekers: a quarter whose only data are seekers shown as 0 must not show in the forecasts' history
-- (tests/test_plan_leaks.py).
select min(year * 4 + quarter - 1) as first_q,
       least(max(year * 4 + quarter - 1), $1::int * 4 + 3,
             (extract(year from current_date)::int * 4 + (extract(month from current_date)::int - 1) / 3) - 1)
           as last_q
from hub.stat_supply_demand
where dims = 16 and demand > 0
