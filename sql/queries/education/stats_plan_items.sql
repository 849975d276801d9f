-- Statistics refresh (the plan's indicators, issue 16): how many designations of each kind were made and bases of
-- each kind established, per year (resolvers.analytics.plan_refresh maps (source, kind) to an indicator and sums them up).
select 'major_designations' as source, kind, year::smallint as year, count(*)::bigint as n
from education.major_designations group by kind, year
union all
select 'school_enterprise_bases', kind, established_year, count(*)
from education.school_enterprise_bases group by kind, established_year
union all
select 'school_designations', kind, year, count(*)
from education.school_designations group by kind, year
