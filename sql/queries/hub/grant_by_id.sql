-- One grant with its dataset's owner.
select g.id, g.request_id, g.department, g.dataset, g.fields, g.granted_at, g.expires_at, g.revoked_at,
       d.department as owner
from hub.grants g join hub.datasets d on d.name = g.dataset
where g.id = $1
