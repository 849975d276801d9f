-- Revoke a consumer's token (idempotent: keeps the first revocation time).
update hub.consumers set revoked_at = coalesce(revoked_at, now())
where id = $1
returning id, department, name, role, revoked_at
