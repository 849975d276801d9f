-- School-enterprise bases per partner enterprise USCC, commerce's code (BasesByEnterpriseLoader), oldest first.
select id, code, name, kind, school_code, enterprise_uscc, established_year
from education.school_enterprise_bases
where enterprise_uscc = any($1::text[])
order by enterprise_uscc, established_year, id
