-- A page of technology transfers: keyset on id; optional project code and transfer dates.
select id, code, project_code, title, buyer_uscc, amount_wan, transferred_on
from science.tech_transfers
where id > $1
  and ($3::text is null or project_code = $3)
  and ($4::date is null or transferred_on >= $4)
  and ($5::date is null or transferred_on <= $5)
order by id
limit $2
