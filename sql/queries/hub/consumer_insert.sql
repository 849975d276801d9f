-- Register a consumer with the hash of its new token.
insert into hub.consumers (department, name, role, token_hash)
values ($1, $2, $3, $4)
returning id, department, name, role, created_at
