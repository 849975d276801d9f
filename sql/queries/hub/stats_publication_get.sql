-- One published report of year $1: version $2, or the latest not withdrawn when $2 is null; with its withdrawal
-- (0015_cell_key.sql) and the version that replaces it: the latest one not withdrawn (null: none, the draft).
select p.year, p.version, p.published_at, p.published_by, p.refresh_id, p.watermark::text as watermark,
       p.thresholds::text as thresholds, p.figures::text as figures,
       w.withdrawn_at, w.withdrawn_by, w.reason as withdrawal_reason,
       (select max(q.version) from hub.stat_publications q
        where q.year = p.year
          and not exists (select 1 from hub.stat_withdrawals x where x.year = q.year and x.version = q.version))
           as replaced_by
from hub.stat_publications p
left join hub.stat_withdrawals w on w.year = p.year and w.version = p.version
where p.year = $1 and (p.version = $2::integer or ($2::integer is null and w.version is null))
order by p.version desc
limit 1
