-- The audit log: one entry per GraphQL operation, append-only and hash-chained in the database.
--
-- Chain: entry.hash = sha256_hex(entry.prev_hash || hub.audit_content(entry)), where prev_hash is the
-- hash of the entry before it in id order (64 zeros for the first entry). The BEFORE INSERT trigger
-- serialises writers with a transaction-level advisory lock and, should an entry with a larger id have
-- committed while it waited, gives the new entry a fresh id: id order is chain order.
-- hub.audit_hash() is the one definition of the hash, used by the trigger and by `hub audit verify`.
-- Consumers are stored as plain columns (no foreign key to hub.consumers): entries outlive consumers.

create table hub.audit_log (
    id bigint generated always as identity primary key,
    at timestamptz not null default now(),
    consumer_id bigint,
    department text,
    consumer_name text,
    operation_name text,
    operation_type text not null default 'unknown'
        check (operation_type in ('query', 'mutation', 'subscription', 'unknown')),
    document_hash text check (document_hash ~ '^[0-9a-f]{64}$'),
    datasets text[] not null default '{}',
    grants bigint[] not null default '{}',
    rows jsonb not null default '{}' check (jsonb_typeof(rows) = 'object'),
    masked_fields text[] not null default '{}',
    denied text[] not null default '{}',
    outcome text not null check (outcome in ('OK', 'ERROR', 'DENIED')),
    error_codes text[] not null default '{}',
    trace_id text check (trace_id ~ '^[0-9a-f]{32}$'),
    prev_hash text not null check (prev_hash ~ '^[0-9a-f]{64}$'),
    hash text not null check (hash ~ '^[0-9a-f]{64}$')
);

create index audit_log_at_idx on hub.audit_log (at, id);
create index audit_log_department_idx on hub.audit_log (department, id);
create index audit_log_consumer_idx on hub.audit_log (consumer_id, id);
create index audit_log_outcome_idx on hub.audit_log (outcome, id);

comment on table hub.audit_log is
    'Append-only, hash-chained audit of every GraphQL operation; verify with `hub audit verify`.';

-- Canonical content of an entry: every column except prev_hash and hash, as jsonb text (jsonb sorts
-- its keys, so the text is deterministic). `at` is rendered in UTC with microseconds so the text does
-- not depend on the session's TimeZone or DateStyle.
create function hub.audit_content(e hub.audit_log) returns text
language sql immutable parallel safe as $$
  select jsonb_build_object(
    'id', e.id,
    'at', to_char(e.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'consumer_id', e.consumer_id,
    'department', e.department,
    'consumer_name', e.consumer_name,
    'operation_name', e.operation_name,
    'operation_type', e.operation_type,
    'document_hash', e.document_hash,
    'datasets', to_jsonb(e.datasets),
    'grants', to_jsonb(e.grants),
    'rows', e.rows,
    'masked_fields', to_jsonb(e.masked_fields),
    'denied', to_jsonb(e.denied),
    'outcome', e.outcome,
    'error_codes', to_jsonb(e.error_codes),
    'trace_id', e.trace_id
  )::text
$$;

-- The hash of an entry given the hash it chains from.
create function hub.audit_hash(prev_hash text, e hub.audit_log) returns text
language sql immutable parallel safe as $$
  select encode(sha256(convert_to(prev_hash || hub.audit_content(e), 'UTF8')), 'hex')
$$;

create function hub.audit_log_chain() returns trigger
language plpgsql as $$
declare
  last_id bigint;
begin
  -- The newest entry must be read with a snapshot taken after the lock; only READ COMMITTED gives
  -- each statement a fresh snapshot, so refuse to fork the chain under a stricter isolation level.
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'hub.audit_log entries must be written in READ COMMITTED transactions'
      using errcode = '25001';
  end if;
  perform pg_advisory_xact_lock(7642001);  -- the audit chain's lock id (migrations use another)
  select a.id, a.hash into last_id, new.prev_hash from hub.audit_log a order by a.id desc limit 1;
  if last_id is null then
    new.prev_hash := repeat('0', 64);
  elsif new.id <= last_id then
    -- This id was drawn before the lock and a later-drawn entry committed first: draw a new one, so
    -- that id order stays chain order.
    new.id := nextval(pg_get_serial_sequence('hub.audit_log', 'id'));
  end if;
  new.hash := hub.audit_hash(new.prev_hash, new);
  return new;
end
$$;

create function hub.audit_log_refuse() returns trigger
language plpgsql as $$
begin
  raise exception 'hub.audit_log is append-only'
    using errcode = '2F003', hint = 'audit entries cannot be updated, deleted or truncated';
end
$$;

create trigger audit_log_chain before insert on hub.audit_log
  for each row execute function hub.audit_log_chain();
create trigger audit_log_no_update before update on hub.audit_log
  for each row execute function hub.audit_log_refuse();
create trigger audit_log_no_delete before delete on hub.audit_log
  for each row execute function hub.audit_log_refuse();
create trigger audit_log_no_truncate before truncate on hub.audit_log
  for each statement execute function hub.audit_log_refuse();
