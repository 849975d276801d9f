-- The names of the occupation codes $1 (labor's classification, as the refresh copied it).
select code, name from hub.stat_occupations where code = any($1::text[])
