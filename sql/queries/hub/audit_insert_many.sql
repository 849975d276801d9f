-- Append a batch of audit entries in array order, one statement (hub.audit_writer.AuditWriter): $1 is a JSON
-- array of objects with audit_insert's 14 values ("rows" as JSON text); the row trigger chains each entry.
insert into hub.audit_log (consumer_id, department, consumer_name, operation_name, operation_type, document_hash,
                           datasets, grants, rows, masked_fields, denied, outcome, error_codes, trace_id)
select e.consumer_id, e.department, e.consumer_name, e.operation_name, e.operation_type, e.document_hash,
       e.datasets, e.grants, e.rows::jsonb, e.masked_fields, e.denied, e.outcome, e.error_codes, e.trace_id
from jsonb_array_elements($1::jsonb) with ordinality as a(entry, ord)
cross join lateral jsonb_to_record(a.entry) as e(consumer_id bigint, department text, consumer_name text,
    operation_name text, operation_type text, document_hash text, datasets text[], grants bigint[], rows text,
    masked_fields text[], denied text[], outcome text, error_codes text[], trace_id text)
order by a.ord
