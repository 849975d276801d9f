-- Record the owner's decision on a pending request (no row when it was already reviewed).
update hub.access_requests
set status = $2, reason = $3, reviewed_at = now(), reviewed_by = $4
where id = $1 and status = 'PENDING'
returning id
