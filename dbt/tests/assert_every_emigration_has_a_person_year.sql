{{ config(severity='warn') }}
-- Every registered emigration dated within the delivered years falls in a person-year at risk
-- (the person was resident on 1 January of that year or arrived in it). A warning, not an error:
-- the register can date an emigration into a year in which the person was not registered
-- resident (e.g. a late registration after an unregistered return); such events are counted in
-- the rate numerators but carry no panel outcome.
select e.event_id, e.person_id, e.event_year
from {{ ref('fct_emigration') }} as e
cross join {{ ref('int_register_coverage') }} as cov
left join {{ ref('fct_person_year') }} as py on py.person_id = e.person_id and py.year = e.event_year
where e.event_year between cov.first_register_year and cov.last_register_year
  and py.person_id is null
