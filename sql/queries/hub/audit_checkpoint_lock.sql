-- Audit checkpoints: one signer at a time across processes and replicas; false when another process is
-- signing. A session advisory lock, taken on the signer's own connection and released by closing it.
select pg_try_advisory_lock(7642014)
