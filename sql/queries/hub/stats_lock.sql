-- Statistics refresh: one refresh at a time (session advisory lock, released by stats_unlock); false when
-- another refresh holds it (the caller waits and tries again).
select pg_try_advisory_lock(7642008)
