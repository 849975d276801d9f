-- likelyShortageOccupations: occupations whose city-wide forecast for the 4 quarters after the data has a ratio
-- (forecast demand / forecast published supply) >= $1 in at least $2 of them and a forecast demand >= $3 over
-- them, ranked by forecast gap (ties by code); the supply non-owners are shown is used for every reader, like
-- the official list. quarters: each quarter's forecast figures.
with next_year as (
    select occupation_code, year, quarter, step, demand, public_supply as supply,
           public_supply > 0 and demand >= $1::double precision * public_supply as met
    from hub.stat_forecasts
    where district_code is null and step <= 4
), candidates as (
    select occupation_code, sum(demand) as demand, sum(supply) as supply, count(*) filter (where met) as quarters_met,
           json_agg(json_build_object('year', year, 'quarter', quarter, 'demand', demand, 'supply', supply,
                                      'met', met) order by step) as quarters
    from next_year
    group by occupation_code
    having count(*) filter (where met) >= $2 and sum(demand) >= $3
)
select c.*, o.name as occupation_name,
       row_number() over (order by c.demand - c.supply desc, c.occupation_code) as rank
from candidates c
left join hub.stat_occupations o on o.code = c.occupation_code
order by rank
limit $4
