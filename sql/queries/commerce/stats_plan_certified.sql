-- Statistics refresh (the plan's indicators, issue 16): enterprises certified as industry-education integration
-- enterprises, per year of certification.
select 'enterprises' as source, 'CERTIFIED_INTEGRATION' as kind, integration_certified_year as year,
       count(*)::bigint as n
from commerce.enterprises
where integration and integration_certified_year is not null
group by integration_certified_year
