-- Fold the delta rows of each occupation into one row (zero sums vanish). Safe beside concurrent writers
-- and another compaction: only rows this statement deleted are summed (a row deleted by a concurrent
-- compaction is skipped), rows committed after its snapshot stay as they are.
with folded as (
    delete from labor.occupation_posting_counts
    where occupation_code in (select occupation_code from labor.occupation_posting_counts
                              group by occupation_code having count(*) > 1)
    returning occupation_code, n
)
insert into labor.occupation_posting_counts (occupation_code, n)
select occupation_code, sum(n) from folded group by occupation_code having sum(n) <> 0
