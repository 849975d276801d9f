-- Which of these school codes education knows (ingest warnings for the others).
select code from education.schools where code = any($1::text[])
