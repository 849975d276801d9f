-- Statistics refresh: one refresh at a time (session advisory lock, released by stats_unlock).
select pg_advisory_lock(7642008)
