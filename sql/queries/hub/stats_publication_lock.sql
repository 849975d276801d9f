-- Publishing: one publication at a time, so versions are numbered without gaps (transaction advisory lock).
select pg_advisory_xact_lock(7642009)
