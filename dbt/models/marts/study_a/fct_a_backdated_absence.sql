{{ config(materialized='table') }}
-- Study A §2.3/§7: 1 January stocks that back-dating an administrative emigration removes. The
-- person left during the back-dated year (they stay in that year's 1 January stock, at risk) and is
-- not resident on 1 January of the following years up to the registered emigration year. One row
-- per person x year removed; the 'backdated' variant of every study A stock drops these rows.
with e as (
    select person_id, backdated_year, event_year
    from {{ ref('fct_emigration') }}
    where is_administrative and backdated_year < event_year
)
select distinct
    py.person_id,
    cast(py.year as {{ dbt.type_int() }}) as year
from {{ ref('fct_person_year') }} as py
inner join e on e.person_id = py.person_id and py.year > e.backdated_year and py.year <= e.event_year
where py.resident_jan1
