-- Technology transfers of each research project code (TechTransfersByProjectLoader), in id order.
select id, code, project_code, title, buyer_uscc, amount_wan, transferred_on
from science.tech_transfers
where project_code = any($1::text[])
order by id
