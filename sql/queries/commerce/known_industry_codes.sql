-- Which of these GB/T 4754 industry codes commerce knows (ingest warnings for the others).
select code from commerce.industries where code = any($1::text[])
