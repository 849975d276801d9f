-- Which of these district codes the hub knows (ingest warnings for the others).
select code from hub.districts where code = any($1::text[])
