-- Yearly outcomes of each major by internal major id (OutcomesByMajorLoader), in year order.
select id, major_id, year, enrollment, graduates, employed
from education.major_outcomes
where major_id = any($1::bigint[])
order by major_id, year
