-- Disclosure control of the published statistics by the cell-key method (issue 13; README "Published
-- statistics", "Disclosure control"), and withdrawals of published report versions.
--
-- Every person record behind a published count (a seeker; a graduate, and the employed among them) has a fixed
-- 32-bit record key derived from the installation's secret below; a cell stores its count and the sum of its
-- records' keys. A count shown to a reader that does not own the persons is hub.stat_perturbed(count, key sum):
-- the same cell always gets the same value, in every grouping, filter and query, so differencing two queries
-- gains nothing beyond the noise. The refresh stores the perturbed supply of every row of
-- hub.stat_supply_demand beside the exact one, and of every graduates figure (hub.stat_graduate_cells and
-- hub.stat_major_outcomes). Run `hub stats refresh` after this migration: until then rows have no perturbed
-- figures and non-owners see supply and graduates as null.

-- The installation's secret behind the record keys (one row, random; never shown by the API). Keys are stable
-- while it stays the same, so published values stay the same from refresh to refresh.
create table hub.stat_cell_key_secret (
    id boolean primary key default true check (id),
    secret text not null default md5(gen_random_uuid()::text || clock_timestamp()::text)
);
insert into hub.stat_cell_key_secret default values;

-- The perturbation table (ptable): the shift added to a count n, as a function of n (classes 0, 1, 2, 3, 4 and
-- 5 = "5 or more") and the cell key's percentile bucket b = floor(100 * (key sum mod 2^32) / 2^32). Shifts are
-- within +-2; 1 and 2 are never shown (1 -> 0 or 3, 2 -> 0, 3 or 4; 3 -> 3..5; 4 -> 3..6); 0 stays 0; from
-- 5 on the shift is -2..+2 with probabilities .1 .2 .4 .2 .1 (unbiased). hub.disclosure reads the table back
-- from this function (the differencing audit and the documentation use the same one).
create function hub.stat_cell_shift(n_class integer, b integer) returns integer
language sql immutable parallel safe as $$
    select case n_class
        when 0 then 0
        when 1 then case when b < 67 then -1 else 2 end
        when 2 then case when b < 40 then -2 when b < 80 then 1 else 2 end
        when 3 then case when b < 60 then 0 when b < 85 then 1 else 2 end
        when 4 then case when b < 25 then -1 when b < 65 then 0 when b < 85 then 1 else 2 end
        else case when b < 10 then -2 when b < 30 then -1 when b < 70 then 0 when b < 90 then 1 else 2 end
    end
$$;

-- A count n whose records' keys sum to key_sum, as shown to a reader that does not own the persons.
create function hub.stat_perturbed(n bigint, key_sum bigint) returns bigint
language sql immutable parallel safe as $$
    select n + hub.stat_cell_shift(least(n, 5)::integer, (mod(key_sum, 4294967296) * 100 / 4294967296)::integer)
$$;

-- Key sums beside the counts (filled by the refresh).
alter table hub.stat_stage_supply add column supply_key bigint;  -- Σ keys of the seekers counted
alter table hub.stat_supply_demand
    add column supply_key bigint,      -- Σ keys of the seeker-quarters behind supply
    add column public_supply bigint;   -- hub.stat_perturbed(supply, supply_key): what non-owners see
alter table hub.stat_major_outcomes
    add column graduates_key bigint,   -- Σ keys of the graduates
    add column employed_key bigint,    -- Σ keys of the employed (the first `employed` of the graduates' keys)
    add column public_graduates integer,  -- what non-owners see (the warnings)
    add column public_employed integer;   -- (shown at most public_graduates)

-- Graduates of a year per district and major, per district, per major (city) and in all (district_code and/or
-- major_code null), exact and as non-owners see them (the major-industry match).
create table hub.stat_graduate_cells (
    year smallint not null,
    district_code text,
    major_code text,
    graduates bigint not null,
    public_graduates bigint not null
);
create index stat_graduate_cells_idx on hub.stat_graduate_cells (year, district_code, major_code);

-- Withdrawals of published report versions: append-only, like the versions themselves. A withdrawn version
-- stays readable (frozen) but is no longer the latest word: its page says so and links its replacement.
create table hub.stat_withdrawals (
    year smallint not null,
    version integer not null,
    withdrawn_at timestamptz not null default now(),
    withdrawn_by text not null,
    reason text not null check (length(btrim(reason)) between 1 and 2000),
    primary key (year, version)  -- of a row of hub.stat_publications (checked by the insert)
);

create function hub.stat_withdrawals_refuse() returns trigger
language plpgsql as $$
begin
  raise exception 'hub.stat_withdrawals is append-only'
    using errcode = '2F003', hint = 'a withdrawal cannot be changed or undone; publish a new version';
end
$$;

create trigger stat_withdrawals_no_update before update on hub.stat_withdrawals
  for each row execute function hub.stat_withdrawals_refuse();
create trigger stat_withdrawals_no_delete before delete on hub.stat_withdrawals
  for each row execute function hub.stat_withdrawals_refuse();
create trigger stat_withdrawals_no_truncate before truncate on hub.stat_withdrawals
  for each statement execute function hub.stat_withdrawals_refuse();
