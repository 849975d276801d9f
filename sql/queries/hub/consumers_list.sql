-- Every consumer, newest last.
select id, department, name, role, created_at, revoked_at
from hub.consumers
order by id
