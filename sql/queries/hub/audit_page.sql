-- A page of audit entries: keyset on id; optional department, consumer id, outcome, operation name and
-- time range [since, before).
select id, at, consumer_id, department, consumer_name, operation_name, operation_type, document_hash,
       datasets, grants, rows::text as rows, masked_fields, denied, outcome, error_codes, trace_id, prev_hash, hash
from hub.audit_log
where id > $1
  and ($3::text is null or department = $3)
  and ($4::bigint is null or consumer_id = $4)
  and ($5::text is null or outcome = $5)
  and ($6::text is null or operation_name = $6)
  and ($7::timestamptz is null or at >= $7)
  and ($8::timestamptz is null or at < $8)
order by id
limit $2
