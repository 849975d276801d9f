-- A cheaper audit write (hub/audit_writer.py): the group-commit writer computes the entries' hashes itself
-- (hub/audit_hash.py, the one definition, which `hub audit verify` uses too) and appends a whole batch with ONE
-- call of hub.audit_append; the database no longer builds each entry's canonical JSON and hash in a per-row
-- trigger, nor takes an advisory lock and reads the newest entry once per row.
--
-- The chain's head (id and hash of the newest entry) is kept in hub.audit_chain_head, one row. Appending is a
-- compare-and-set on that row: the batch says which head it chains from; the UPDATE waits for the row lock of a
-- concurrent append and, under READ COMMITTED, re-checks the condition against the row that append committed, so
-- exactly one of two appends from the same head succeeds. The other gets the new head back and chains again.
-- Id order stays chain order: an appended batch takes the ids after the head's, consecutively.
--
-- Inserts that do not come through hub.audit_append (hub.audit.record: one entry, the tests, a hand-written
-- INSERT) keep the old behaviour: the row trigger sets id, prev_hash and hash in SQL (hub.audit_hash, migration
-- 0007), under the same row lock, and moves the head. Only hub.audit_append marks its rows as already hashed (a
-- transaction-local setting it clears before returning), and it checks that the rows it is given link up.

create table hub.audit_chain_head (
    singleton boolean primary key default true check (singleton),
    id bigint not null,
    hash text not null check (hash ~ '^[0-9a-f]{64}$')
);

comment on table hub.audit_chain_head is
    'The newest entry of hub.audit_log (id, hash); appends compare-and-set it (hub.audit_append).';

insert into hub.audit_chain_head (id, hash)
select coalesce((select id from hub.audit_log order by id desc limit 1), 0),
       coalesce((select hash from hub.audit_log order by id desc limit 1), repeat('0', 64));

create or replace function hub.audit_log_chain() returns trigger
language plpgsql as $$
declare
  head_id bigint;
begin
  -- The head must be read after its lock; only READ COMMITTED re-reads a row changed while waiting for its
  -- lock, so refuse to fork the chain under a stricter isolation level.
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'hub.audit_log entries must be written in READ COMMITTED transactions'
      using errcode = '25001';
  end if;
  select h.id, h.hash into head_id, new.prev_hash from hub.audit_chain_head h for update;
  new.id := head_id + 1;
  new.hash := hub.audit_hash(new.prev_hash, new);
  update hub.audit_chain_head set id = new.id, hash = new.hash;
  return new;
end
$$;

-- The trigger is not even called for the rows hub.audit_append inserts (hashed by the writer, links checked).
drop trigger audit_log_chain on hub.audit_log;
create trigger audit_log_chain before insert on hub.audit_log
  for each row when (current_setting('hub.audit_append', true) is distinct from 'on')
  execute function hub.audit_log_chain();

-- Append entries hashed by the writer, chained from the head (from_id, from_hash). entries: a JSON array of
-- objects with every column of hub.audit_log (id, at as UTC text, ..., prev_hash, hash), in chain order.
-- Returns the head after the call and whether the entries were appended: false (nothing written) when the
-- head had moved; the caller chains its entries from the returned head and calls again.
create function hub.audit_append(from_id bigint, from_hash text, entries jsonb,
                                 out head_id bigint, out head_hash text, out appended boolean)
language plpgsql as $$
declare
  last_entry jsonb := entries -> -1;
  broken bigint;
begin
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'hub.audit_log entries must be written in READ COMMITTED transactions'
      using errcode = '25001';
  end if;
  if jsonb_typeof(entries) is distinct from 'array' or jsonb_array_length(entries) = 0 then
    raise exception 'hub.audit_append needs a non-empty JSON array of entries' using errcode = '22023';
  end if;
  update hub.audit_chain_head h set id = (last_entry ->> 'id')::bigint, hash = last_entry ->> 'hash'
  where h.id = from_id and h.hash = from_hash;
  if not found then
    select h.id, h.hash into head_id, head_hash from hub.audit_chain_head h;
    appended := false;
    return;
  end if;
  -- The links: ids follow the head's one by one, each prev_hash is the hash before it.
  select e.ord into broken
  from jsonb_array_elements(entries) with ordinality as e(entry, ord)
  where (e.entry ->> 'id')::bigint is distinct from from_id + e.ord
     or e.entry ->> 'prev_hash' is distinct from
        case when e.ord = 1 then from_hash else entries -> (e.ord::int - 2) ->> 'hash' end
  limit 1;
  if broken is not null then
    raise exception 'audit entry % of the batch does not link to the chain', broken using errcode = '23514';
  end if;
  perform set_config('hub.audit_append', 'on', true);
  insert into hub.audit_log (id, at, consumer_id, department, consumer_name, operation_name, operation_type,
                             document_hash, datasets, grants, rows, masked_fields, denied, outcome, error_codes,
                             trace_id, prev_hash, hash)
  overriding system value
  select e.id, e.at, e.consumer_id, e.department, e.consumer_name, e.operation_name, e.operation_type,
         e.document_hash, e.datasets, e.grants, e.rows, e.masked_fields, e.denied, e.outcome, e.error_codes,
         e.trace_id, e.prev_hash, e.hash
  from jsonb_to_recordset(entries) as e(id bigint, at timestamptz, consumer_id bigint, department text,
      consumer_name text, operation_name text, operation_type text, document_hash text, datasets text[],
      grants bigint[], rows jsonb, masked_fields text[], denied text[], outcome text, error_codes text[],
      trace_id text, prev_hash text, hash text);
  perform set_config('hub.audit_append', '', true);
  head_id := (last_entry ->> 'id')::bigint;
  head_hash := last_entry ->> 'hash';
  appended := true;
end
$$;
