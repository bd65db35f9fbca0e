-- Study B §4.1: a person's event row (y > 0) is that person's last row in the risk set.
with l as (
    select person_id, max(year) as last_year from {{ ref('fct_b_person_year') }} group by person_id
)
select b.person_id, b.year
from {{ ref('fct_b_person_year') }} as b
inner join l
  on l.person_id = b.person_id
where b.y > 0 and b.year <> l.last_year
