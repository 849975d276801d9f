-- Statistics refresh (disclosure control across releases, 0017_release_stable_keys.sql): copy the release being
-- replaced — every supply cell and every graduates figure, exact and as non-owners were shown it — into the
-- staging tables, inside the replacing transaction before the summary tables are emptied. The protection then
-- audits the new release together with this one (resolvers.analytics.disclosure, "carried").
with graduates as (
    insert into hub.stat_stage_previous_graduates
        (kind, year, school_code, district_code, major_code, graduates, employed, public_graduates, public_employed)
    select 'outcome', year, school_code, district_code, major_code, graduates, employed, public_graduates,
           public_employed
    from hub.stat_major_outcomes
    union all
    select 'cell', year, null, district_code, major_code, graduates, null, public_graduates, null
    from hub.stat_graduate_cells
)
insert into hub.stat_stage_previous_supply
    (year, dims, occupation_code, district_code, skill_level, quarter, demand, supply, persons, supply_key,
     public_supply)
select year, dims, occupation_code, district_code, skill_level, quarter, demand, supply, persons, supply_key,
       public_supply
from hub.stat_supply_demand
where dims & 8 = 0
