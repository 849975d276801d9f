-- Sync for the big-data bureau (DESIGN.md, "Sync contract"): change capture on every catalog dataset,
-- the change feed's bookkeeping, and bulk-ingest reports. Everything lives in the schema hub_sync, which
-- this migration creates in EVERY database (migrations run on each distinct department database): the
-- changes of a department's tables are logged in that department's own database, next to the data, so
-- transaction ids (xid8) are comparable and the feed reads through the department's own pool.
-- hub_sync is not a department schema, so the demo seeder (which truncates whole department schemas)
-- never touches it.
create schema if not exists hub_sync;

-- The version of a change. CACHE 1 (the default) is essential: values are then handed out in real-time
-- order across all sessions, so of two writes to the same row (serialised by its row lock) the later
-- one always has the larger seq. Clients keep, per row, the change with the largest seq.
create sequence hub_sync.change_seq as bigint cache 1;

-- One row per inserted, updated or deleted row, and one 'R' (reset) row per TRUNCATE.
-- Feed order is (txid, seq); a reader only hands out changes with txid < xmin of its snapshot, i.e.
-- of transactions that have ended and can no longer be overtaken by an older, still-open one.
create table hub_sync.change_log (
    dataset text not null,
    txid xid8 not null default pg_current_xact_id(),
    seq bigint not null default nextval('hub_sync.change_seq'),
    op "char" not null check (op in ('I', 'U', 'D', 'R')),
    row_id bigint,  -- the row's id; null for R
    data jsonb,     -- I, U: the whole row (column names); D: the key (id + natural key); R: null
    at timestamptz not null default now(),
    primary key (dataset, txid, seq),
    check ((op = 'R') = (row_id is null))
);

-- What retention removed: per dataset, the newest (txid, seq) deleted. A cursor before it is expired.
create table hub_sync.horizon (
    dataset text primary key,
    txid xid8 not null,
    seq bigint not null,
    pruned_at timestamptz not null default now()
);

-- The key of a row as a jsonb object: "id" plus the natural key columns.
create function hub_sync.key_of(r jsonb, keys text[]) returns jsonb
language sql immutable strict parallel safe as $$
  select jsonb_object_agg(k, r -> k) from unnest(keys) as k
$$;

-- Statement-level capture (transition tables): one INSERT ... SELECT per statement, however many rows,
-- so bulk loads (COPY, INSERT ... SELECT, the ingest upsert) stay fast.
-- Arguments: tg_argv[0] = dataset name, tg_argv[1] = comma-separated key columns (id first).
create function hub_sync.capture_insert() returns trigger
language plpgsql as $$
declare
  n bigint;
begin
  insert into hub_sync.change_log (dataset, op, row_id, data)
  select tg_argv[0], 'I', r.id, to_jsonb(r) from new_rows r;
  get diagnostics n = row_count;
  if n > 0 then
    perform pg_notify('hub_sync', tg_argv[0]);
  end if;
  return null;
end $$;

create function hub_sync.capture_update() returns trigger
language plpgsql as $$
declare
  n bigint;
begin
  -- An update that changed a row's id removes the old key: a tombstone for it.
  insert into hub_sync.change_log (dataset, op, row_id, data)
  select tg_argv[0], 'D', o.id, hub_sync.key_of(to_jsonb(o), string_to_array(tg_argv[1], ','))
  from old_rows o where not exists (select from new_rows r where r.id = o.id);
  insert into hub_sync.change_log (dataset, op, row_id, data)
  select tg_argv[0], 'U', r.id, to_jsonb(r) from new_rows r;
  get diagnostics n = row_count;
  if n > 0 then
    perform pg_notify('hub_sync', tg_argv[0]);
  end if;
  return null;
end $$;

create function hub_sync.capture_delete() returns trigger
language plpgsql as $$
declare
  n bigint;
begin
  insert into hub_sync.change_log (dataset, op, row_id, data)
  select tg_argv[0], 'D', o.id, hub_sync.key_of(to_jsonb(o), string_to_array(tg_argv[1], ','))
  from old_rows o;
  get diagnostics n = row_count;
  if n > 0 then
    perform pg_notify('hub_sync', tg_argv[0]);
  end if;
  return null;
end $$;

-- TRUNCATE empties the table: one reset marker. A client applying the feed drops every row it holds for
-- the dataset whose version is below the marker's (the rows loaded afterwards follow as inserts).
create function hub_sync.capture_truncate() returns trigger
language plpgsql as $$
begin
  insert into hub_sync.change_log (dataset, op) values (tg_argv[0], 'R');
  perform pg_notify('hub_sync', tg_argv[0]);
  return null;
end $$;

-- Ingest (POST /ingest/{dataset}, mutation ingest): natural keys for the two tables that have none.
-- The source system's identifier of the posting / registration; rows created otherwise have none.
alter table labor.job_postings add column source_id text check (source_id ~ '^[!-~]{1,100}$');
create unique index job_postings_source_id_key on labor.job_postings (source_id);
alter table labor.job_seekers add column source_id text check (source_id ~ '^[!-~]{1,100}$');
create unique index job_seekers_source_id_key on labor.job_seekers (source_id);

-- Install the capture triggers on every catalog dataset's table. Key columns per dataset: id, then the
-- natural key the ingest upserts by.
do $$
declare
  d record;
  keys text;
  tbl text;
begin
  for d in select name from hub.datasets order by name loop
    keys := case d.name
      when 'commerce.enterprises' then 'id,uscc'
      when 'labor.job_postings' then 'id,source_id'
      when 'labor.job_seekers' then 'id,source_id'
      when 'labor.skill_certificates' then 'id,certificate_no'
      when 'education.majors' then 'id,school_code,code'
      when 'education.major_outcomes' then 'id,major_id,year'
      else 'id,code'
    end;
    tbl := format('%I.%I', split_part(d.name, '.', 1), split_part(d.name, '.', 2));
    execute format('create trigger hub_sync_capture_insert after insert on %s referencing new table as new_rows '
                   'for each statement execute function hub_sync.capture_insert(%L, %L)', tbl, d.name, keys);
    execute format('create trigger hub_sync_capture_update after update on %s referencing old table as old_rows '
                   'new table as new_rows for each statement execute function hub_sync.capture_update(%L, %L)',
                   tbl, d.name, keys);
    execute format('create trigger hub_sync_capture_delete after delete on %s referencing old table as old_rows '
                   'for each statement execute function hub_sync.capture_delete(%L, %L)', tbl, d.name, keys);
    execute format('create trigger hub_sync_capture_truncate after truncate on %s '
                   'for each statement execute function hub_sync.capture_truncate(%L)', tbl, d.name);
  end loop;
end $$;

-- Retention: delete, per dataset, the oldest changes recorded before p_before — always a prefix in feed
-- order, and only of ended transactions — and remember the newest deleted one in hub_sync.horizon.
create function hub_sync.prune(p_before timestamptz) returns bigint
language plpgsql as $$
declare
  d record;
  keep_txid xid8;
  keep_seq bigint;
  last_txid xid8;
  last_seq bigint;
  removed bigint := 0;
  n bigint;
  xmin_now xid8 := pg_snapshot_xmin(pg_current_snapshot());
begin
  for d in select name from hub.datasets order by name loop
    -- the first change that must stay: recorded at or after p_before, or of a transaction not yet ended
    keep_txid := null;
    keep_seq := null;
    last_txid := null;
    last_seq := null;
    select c.txid, c.seq into keep_txid, keep_seq from hub_sync.change_log c
    where c.dataset = d.name and (c.at >= p_before or c.txid >= xmin_now)
    order by c.txid, c.seq limit 1;
    select c.txid, c.seq into last_txid, last_seq from hub_sync.change_log c
    where c.dataset = d.name and (keep_txid is null or (c.txid, c.seq) < (keep_txid, keep_seq))
    order by c.txid desc, c.seq desc limit 1;
    continue when last_txid is null;
    delete from hub_sync.change_log c where c.dataset = d.name and (c.txid, c.seq) <= (last_txid, last_seq);
    get diagnostics n = row_count;
    removed := removed + n;
    insert into hub_sync.horizon as h (dataset, txid, seq) values (d.name, last_txid, last_seq)
    on conflict (dataset) do update set txid = excluded.txid, seq = excluded.seq, pruned_at = now()
    where (h.txid, h.seq) < (excluded.txid, excluded.seq);
  end loop;
  return removed;
end $$;

-- Bulk-ingest batches: one per request. The report is stored in the same transaction as the data it
-- describes, under the request's Idempotency-Key, so a retried batch returns it instead of re-applying.
create table hub_sync.ingest_batches (
    id bigint generated always as identity primary key,
    dataset text not null,
    idempotency_key text check (length(idempotency_key) between 1 and 200),
    consumer_id bigint,
    department text,
    received integer not null default 0,
    inserted integer not null default 0,
    updated integer not null default 0,
    unchanged integer not null default 0,
    rejected integer not null default 0,
    warnings integer not null default 0,
    report jsonb not null default '{}',
    created_at timestamptz not null default now(),
    unique (dataset, idempotency_key)
);

-- Every rejected row with its reason (and every warning), kept with the batch.
create table hub_sync.ingest_issues (
    batch_id bigint not null references hub_sync.ingest_batches (id),
    line integer not null,      -- 1-based data line (NDJSON line; CSV record after the header)
    severity text not null check (severity in ('REJECTED', 'WARNING')),
    field text,
    reason text not null,
    raw text                    -- the rejected input line (first 2000 characters)
);
create index ingest_issues_batch_idx on hub_sync.ingest_issues (batch_id, severity, line);
