-- Access requests a department made or must review ($3: department; admins pass null for all).
select r.id, r.consumer_id, r.department, r.dataset, r.fields, r.purpose, r.until, r.status, r.reason,
       r.requested_at, r.reviewed_at, r.reviewed_by, d.department as owner,
       hub.working_days_between(r.requested_at, now()) as working_days_pending, g.id as grant_id
from hub.access_requests r
join hub.datasets d on d.name = r.dataset
left join hub.grants g on g.request_id = r.id
where r.id > $1
  and ($3::text is null or r.department = $3 or d.department = $3)
  and ($4::text is null or r.status = $4)
order by r.id
limit $2
