-- Residence spells: runs of consecutive 1 January snapshots with status resident (gaps and
-- islands). One row per person and spell; spell_number 1 is the first observed spell.
with res as (
    select person_id, year,
           year - row_number() over (partition by person_id order by year asc nulls last) as island
    from {{ ref('stg_population_status') }}
    where is_resident
),
spells as (
    select person_id, min(year) as first_jan1_year, max(year) as last_jan1_year, count(*) as n_years
    from res group by person_id, island
)
select
    person_id,
    cast(row_number() over (partition by person_id order by first_jan1_year asc nulls last)
         as {{ dbt.type_int() }})                 as spell_number,
    cast(first_jan1_year as {{ dbt.type_int() }}) as first_jan1_year,
    cast(last_jan1_year as {{ dbt.type_int() }})  as last_jan1_year,
    cast(n_years as {{ dbt.type_int() }})         as n_jan1_years
from spells
