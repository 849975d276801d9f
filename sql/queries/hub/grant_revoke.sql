-- Revoke a grant (only the owning department of its dataset, or an admin: checked by the caller).
update hub.grants set revoked_at = now(), revoked_by = $2
where id = $1 and revoked_at is null
returning id
