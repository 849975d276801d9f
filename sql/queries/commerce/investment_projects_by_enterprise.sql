-- Major investment projects of each enterprise (InvestmentProjectsByEnterpriseLoader), in code order.
select id, code, name, enterprise_uscc, park_code, amount_wan, starts_on
from commerce.investment_projects
where enterprise_uscc = any($1::text[])
order by code
