-- Active (approved, unexpired, unrevoked) grants held by a department.
select id, dataset, fields, expires_at
from hub.grants
where department = $1 and revoked_at is null and expires_at > now()
