-- The cell-key perturbation table (0015_cell_key.sql): the shift of every count class 0..$1 and key bucket 0..$2-1.
select n, b as bucket, hub.stat_cell_shift(n, b) as shift
from generate_series(0, $1::int) as n
cross join generate_series(0, $2::int - 1) as b
order by n, b
