-- Enterprises by unified social credit code (EnterpriseByUsccLoader).
select id, uscc, name, industry_code, district_code, size, founded_on, integration, integration_certified_year
from commerce.enterprises
where uscc = any($1::text[])
