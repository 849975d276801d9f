-- A cheaper audit write (hub/audit_writer.py): the group-commit writer builds each entry's canonical content
-- itself (hub/audit_hash.py, the one definition, which `hub audit verify` uses too) and appends a whole batch with
-- ONE call of hub.audit_append. Per batch, the database takes the chain's lock and reads the newest entry once;
-- per entry it only draws the id, puts the id and time into the content and hashes it (sha256 of prev_hash ||
-- content, as migration 0007 defines). The per-row trigger of 0007 (for each row: the lock, a read of the
-- newest entry, jsonb_build_object, to_char, to_jsonb and the hash, in PL/pgSQL) is skipped for these rows; it
-- still chains every other INSERT (hub.audit.record: one entry; tests; a hand-written INSERT), under the same lock.
--
-- at: the batch's time, UTC text as in the content ("YYYY-MM-DDTHH:MM:SS.ffffffZ"); rests: per entry, in chain order,
-- its canonical content after its id: content = '{"at": "' || at || '", "id": ' || id || rest ("at" and "id"
-- are the first two keys of the content); entries: the same entries' column values, a JSON array of objects with
-- the 14 columns of hub/audit_insert.sql (text[] and bigint[] columns as JSON arrays, rows as a JSON object).

create function hub.audit_append(at text, rests text[], entries jsonb) returns void
language plpgsql as $$
declare
  n int := cardinality(rests);
  prev text;
  ids bigint[];
  prevs text[] := array_fill(null::text, array[n]);
  hashes text[] := array_fill(null::text, array[n]);
  head text := '{"at": "' || at || '", "id": ';
begin
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'hub.audit_log entries must be written in READ COMMITTED transactions'
      using errcode = '25001';
  end if;
  if n is null or n = 0 or n <> jsonb_array_length(entries) then
    raise exception 'hub.audit_append needs as many contents as entries, at least one' using errcode = '22023';
  end if;
  perform pg_advisory_xact_lock(7642001);  -- the audit chain's lock (migration 0007)
  -- A statement of its own: its snapshot is taken after the lock, so it sees the entry committed last.
  select a.hash into prev from hub.audit_log a order by a.id desc limit 1;
  prev := coalesce(prev, repeat('0', 64));
  -- Drawn under the lock: larger than every committed id, so id order stays chain order.
  select array_agg(v order by v) into ids
  from (select nextval('hub.audit_log_id_seq'::regclass) as v from generate_series(1, n)) s;
  for i in 1 .. n loop
    prevs[i] := prev;
    prev := encode(sha256(convert_to(prev || head || ids[i] || rests[i], 'UTF8')), 'hex');
    hashes[i] := prev;
  end loop;
  perform set_config('hub.audit_append', 'on', true);  -- the row trigger skips these rows
  insert into hub.audit_log (id, at, consumer_id, department, consumer_name, operation_name, operation_type,
                             document_hash, datasets, grants, rows, masked_fields, denied, outcome, error_codes,
                             trace_id, prev_hash, hash)
  overriding system value
  select ids[a.ord], at::timestamptz, x.consumer_id, x.department, x.consumer_name, x.operation_name,
         x.operation_type, x.document_hash, x.datasets, x.grants, x.rows, x.masked_fields, x.denied, x.outcome,
         x.error_codes, x.trace_id, prevs[a.ord], hashes[a.ord]
  from jsonb_array_elements(entries) with ordinality as a(entry, ord)
  cross join lateral jsonb_to_record(a.entry) as x(consumer_id bigint, department text, consumer_name text,
      operation_name text, operation_type text, document_hash text, datasets text[], grants bigint[], rows jsonb,
      masked_fields text[], denied text[], outcome text, error_codes text[], trace_id text);
  perform set_config('hub.audit_append', '', true);
end
$$;

-- Not even called for the rows hub.audit_append inserts.
drop trigger audit_log_chain on hub.audit_log;
create trigger audit_log_chain before insert on hub.audit_log
  for each row when (current_setting('hub.audit_append', true) is distinct from 'on')
  execute function hub.audit_log_chain();
