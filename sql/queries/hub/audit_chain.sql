-- `hub audit verify`: every entry's stored columns in chain (id) order; hub/governance/audit_hash.py recomputes the hashes
-- in Python (the database's own hash function is not trusted to check itself).
select id, at, consumer_id, department, consumer_name, operation_name, operation_type, document_hash, datasets,
       grants, rows, masked_fields, denied, outcome, error_codes, trace_id, prev_hash, hash
from hub.audit_log
order by id
