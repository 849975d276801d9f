-- Statistics refresh (disclosure control, resolvers.analytics.disclosure.protect_graduates): every school major's
-- year and every cell of the match, exact and as shown, with the same figure of the previous release (prev_*: null
-- when it had none).
with now as (
    select 'outcome' as kind, year, school_code, district_code, major_code, graduates::bigint as graduates,
           employed::bigint as employed, public_graduates::bigint as public_graduates,
           public_employed::bigint as public_employed
    from hub.stat_major_outcomes
    union all
    select 'cell', year, null, district_code, major_code, graduates, null, public_graduates, null
    from hub.stat_graduate_cells
)
select n.*, p.graduates as prev_graduates, p.employed as prev_employed, p.public_graduates as prev_public_graduates,
       p.public_employed as prev_public_employed
from now n
left join hub.stat_stage_previous_graduates p
    on p.kind = n.kind and p.year = n.year and coalesce(p.school_code, '') = coalesce(n.school_code, '')
   and coalesce(p.district_code, '') = coalesce(n.district_code, '')
   and coalesce(p.major_code, '') = coalesce(n.major_code, '')
