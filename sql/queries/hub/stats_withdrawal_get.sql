-- Whether version $2 of year $1 is published, and its withdrawal if any.
select p.version, w.withdrawn_at
from hub.stat_publications p
left join hub.stat_withdrawals w on w.year = p.year and w.version = p.version
where p.year = $1 and p.version = $2
