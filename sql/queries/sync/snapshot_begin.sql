-- The snapshot of a REPEATABLE READ transaction, as pg_snapshot text (xmin:xmax:xip,...).
select pg_current_snapshot()::text
