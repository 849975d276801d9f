-- Statistics refresh (disclosure control): the supply shown to non-owners of row $1 (a ctid read in the same
-- transaction) becomes $2, another value the ptable can show for it (resolvers.analytics.disclosure.protect_supply),
-- or the value the previous release showed for the same count and key
-- (resolvers.analytics.statistics._supply_shown).
update hub.stat_supply_demand set public_supply = $2 where ctid = $1::text::tid
