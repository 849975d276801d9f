-- Statistics refresh (disclosure control, hub.disclosure.protect_graduates): every school major's year and every
-- cell of the match, exact and as shown.
select 'outcome' as kind, year, school_code, district_code, major_code, graduates::bigint as graduates,
       employed::bigint as employed, public_graduates::bigint as public_graduates,
       public_employed::bigint as public_employed
from hub.stat_major_outcomes
union all
select 'cell', year, null, district_code, major_code, graduates, null, public_graduates, null
from hub.stat_graduate_cells
