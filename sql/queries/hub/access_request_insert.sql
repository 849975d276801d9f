-- A consumer asks the owning department for access to a dataset.
insert into hub.access_requests (consumer_id, department, dataset, fields, purpose, until)
values ($1, $2, $3, $4, $5, $6)
returning id
