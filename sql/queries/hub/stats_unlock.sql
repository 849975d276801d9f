-- Statistics refresh: release the lock taken by stats_lock.
select pg_advisory_unlock(7642008)
