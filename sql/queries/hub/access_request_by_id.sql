-- One access request with its dataset's owner and the grant it produced, if any.
select r.id, r.consumer_id, r.department, r.dataset, r.fields, r.purpose, r.until, r.status, r.reason,
       r.requested_at, r.reviewed_at, r.reviewed_by, d.department as owner,
       hub.working_days_between(r.requested_at, now()) as working_days_pending, g.id as grant_id
from hub.access_requests r
join hub.datasets d on d.name = r.dataset
left join hub.grants g on g.request_id = r.id
where r.id = $1
