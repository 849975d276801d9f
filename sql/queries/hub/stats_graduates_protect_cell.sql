-- Statistics refresh (disclosure control): the graduates $4 non-owners see of the match cell of year $1, district
-- $2 and major $3 (null: all; hub.disclosure.protect_graduates moved it).
update hub.stat_graduate_cells set public_graduates = $4
where year = $1 and district_code is not distinct from $2 and major_code is not distinct from $3
