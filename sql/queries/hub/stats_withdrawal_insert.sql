-- Withdraw published version $2 of year $1 (by $3, for reason $4): no row when there is no such version, or it is
-- withdrawn already (append-only: a withdrawal is never changed or undone).
insert into hub.stat_withdrawals (year, version, withdrawn_by, reason)
select p.year, p.version, $3, $4
from hub.stat_publications p
where p.year = $1 and p.version = $2
on conflict (year, version) do nothing
returning year, version, withdrawn_at, withdrawn_by, reason
