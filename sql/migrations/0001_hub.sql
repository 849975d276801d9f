-- The hub's own schema: code-format validators shared by every department, districts, demo metadata.
-- Validators are pure functions (no data), so a department moved to its own database keeps them.
create schema if not exists hub;
create extension if not exists pg_trgm;

-- 18-character unified social credit code (GB 32100-2015) with its check character.
create function hub.uscc_valid(c text) returns boolean
language sql immutable strict parallel safe as $$
  select c ~ '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$'
     and substr(c, 18, 1) = substr(
           '0123456789ABCDEFGHJKLMNPQRTUWXY',
           ((31 - (select sum((strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(c, i::int, 1)) - 1) * w)
                     from unnest(array[1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28]) with ordinality as t(w, i))::int % 31) % 31) + 1,
           1)
$$;

-- 6-digit administrative division code (GB/T 2260).
create function hub.district_valid(c text) returns boolean
language sql immutable strict parallel safe as $$ select c ~ '^[1-9][0-9]{5}$' $$;

-- National occupational classification code, e.g. 6-18-01-01.
create function hub.occupation_code_valid(c text) returns boolean
language sql immutable strict parallel safe as $$ select c ~ '^[1-8]-[0-9]{2}-[0-9]{2}-[0-9]{2}$' $$;

-- GB/T 4754 industry code: section letter A-T, or a 2-, 3- or 4-digit class.
create function hub.industry_code_valid(c text) returns boolean
language sql immutable strict parallel safe as $$ select c ~ '^([A-T]|[0-9]{2}|[0-9]{3}|[0-9]{4})$' $$;

-- 10-digit school identification code.
create function hub.school_code_valid(c text) returns boolean
language sql immutable strict parallel safe as $$ select c ~ '^[0-9]{10}$' $$;

-- 6-digit vocational-education major catalog code.
create function hub.major_code_valid(c text) returns boolean
language sql immutable strict parallel safe as $$ select c ~ '^[0-9]{6}$' $$;

create table hub.districts (
    code text primary key check (hub.district_valid(code)),
    name text not null,
    parent_code text references hub.districts (code)
);
create index districts_parent_code_idx on hub.districts (parent_code, code);

create table hub.meta (
    key text primary key,
    value jsonb not null,
    updated_at timestamptz not null default now()
);
