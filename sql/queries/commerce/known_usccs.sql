-- Which of these unified social credit codes commerce knows (ingest warnings for the others).
select uscc as code from commerce.enterprises where uscc = any($1::text[])
