-- The grant produced by an approved request.
insert into hub.grants (request_id, department, dataset, fields, expires_at)
select id, department, dataset, fields, $2
from hub.access_requests
where id = $1 and status = 'APPROVED'
returning id
