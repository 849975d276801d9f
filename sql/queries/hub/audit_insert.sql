-- Append one audit entry; the trigger draws the id and sets prev_hash and hash (one statement per operation).
insert into hub.audit_log (consumer_id, department, consumer_name, operation_name, operation_type, document_hash,
                           datasets, grants, rows, masked_fields, denied, outcome, error_codes, trace_id)
values ($1, $2, $3, $4, $5, $6, $7::text[], $8::bigint[], $9::jsonb, $10::text[], $11::text[], $12, $13::text[], $14)
