-- Statistics refresh (disclosure control): the graduates $4 and employed $5 non-owners see of school $2's major $3
-- in year $1 (hub.disclosure.protect_graduates moved them).
update hub.stat_major_outcomes set public_graduates = $4, public_employed = $5
where year = $1 and school_code = $2 and major_code = $3
