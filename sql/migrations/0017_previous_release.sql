-- Disclosure control across releases (issue 13, "Across releases"; docs/statistics.md).
--
-- Every refresh is a new release of the statistics. A reader who knows how a count changed between two releases
-- (one seeker joined a cell: from the watermark's row counts, or because it registered the seeker) holds two
-- perturbed views of one count. The refresh therefore keeps the release it replaces (the staging tables below,
-- filled inside its replacing transaction) and audits the new release together with it (hub.disclosure,
-- "carried"), moving any value that would let the two together pin a count of 1 or 2 persons.

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
    public_supply bigint
);

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
