-- Grants a department holds or has given ($3: department; admins pass null for all).
select g.id, g.request_id, g.department, g.dataset, g.fields, g.granted_at, g.expires_at, g.revoked_at,
       d.department as owner
from hub.grants g join hub.datasets d on d.name = g.dataset
where g.id > $1
  and ($3::text is null or g.department = $3 or d.department = $3)
  and ($4::boolean is null or ($4 = (g.revoked_at is null and g.expires_at > now())))
order by g.id
limit $2
