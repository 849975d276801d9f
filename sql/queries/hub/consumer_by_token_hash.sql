-- The active consumer holding a token (by the token's SHA-256), for authentication.
select id, department, name, role
from hub.consumers
where token_hash = $1 and revoked_at is null
