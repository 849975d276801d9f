-- Disclosure control across releases (issue 13, "Across releases"; docs/statistics.md).
--
-- Every refresh is a new release of the statistics. A reader who knows how a count changed between two releases
-- (one seeker joined a cell: from the watermark's row counts, or because it registered the seeker) holds two
-- perturbed views of one count. With a key per person (0015) a cell's noise was drawn afresh whenever one person
-- joined or left it, so those two views were independent.
--
-- 1. The records behind the keys are now the finest cells (a seeker-quarter's year, quarter, occupation, district
--    and skill level; a school major's year), each with a fixed key; a cell's key is the sum of the keys of the
--    finest cells with someone in them it is made of (sql/queries/labor/stats_supply.sql,
--    education/stats_major_outcomes.sql). A cell keeps its key while persons join or leave finest cells that
--    already hold someone, so a count of 5 or more keeps its shift (the difference of two releases is the true
--    difference, nothing more) and a small count moves along one fixed column of the ptable; two cells made of
--    the same persons still have the same key, so the same value.
-- 2. The refresh keeps the release it replaces (the staging tables below, filled inside its replacing
--    transaction) and audits the new release together with it (hub.disclosure, "carried"), moving any value
--    that would let the two together pin a count of 1 or 2 persons (the keys do change when a finest cell gets
--    its first person or loses its last).
--
-- Run `hub stats refresh` after this migration: the live figures get the new keys (published versions are frozen
-- and keep their values).

-- The release being replaced: every supply cell and every graduates figure with its exact and shown value (only
-- a refresh, under its lock, uses them).
create unlogged table hub.stat_stage_previous_supply (
    year smallint not null,
    dims smallint not null,
    occupation_code text,
    district_code text,
    skill_level smallint,
    quarter smallint,
    demand bigint not null,
    supply bigint not null,
    persons bigint not null,
    supply_key bigint,
    public_supply bigint
);
create index stat_stage_previous_supply_year_idx on hub.stat_stage_previous_supply (year);

create unlogged table hub.stat_stage_previous_graduates (
    kind text not null,          -- 'outcome' (a school major's year) or 'cell' (a cell of the match)
    year smallint not null,
    school_code text,
    district_code text,
    major_code text,
    graduates bigint not null,
    employed bigint,
    public_graduates bigint,
    public_employed bigint
);
