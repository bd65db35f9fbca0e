{{ config(materialized="table") }}
-- Materialized as a table (not a view like the other stg_ models): persons is re-delivered in full
-- every register year, and a view would re-run this dedup window over all deliveries in each consumer.
-- One row per person: the attributes from the newest register year that delivered the person
-- (persons is a full re-delivery every year; older deliveries are kept in raw for revision tracking).
-- Newest register year per person via a narrow aggregate + join (much cheaper than a window over
-- the wide rows of every delivery); (person_id, register_year) is unique (source test).
with newest as (
    select person_id, max(register_year) as register_year
    from {{ source('raw', 'persons') }}
    group by person_id
),
ranked as (
    select p.*
    from {{ source('raw', 'persons') }} as p
    inner join newest as n on n.person_id = p.person_id and n.register_year = p.register_year
)
select
    cast(person_id as {{ dbt.type_string() }})                 as person_id,
    cast(sex as {{ dbt.type_int() }})                          as sex,
    cast(birth_year as {{ dbt.type_int() }})                   as birth_year,
    cast(birth_month as {{ dbt.type_int() }})                  as birth_month,
    cast(upper(nullif(trim(birth_country), '')) as {{ dbt.type_string() }})          as birth_country,
    cast(nullif(trim(mother_id), '') as {{ dbt.type_string() }})                     as mother_id,
    cast(nullif(trim(father_id), '') as {{ dbt.type_string() }})                     as father_id,
    cast(upper(nullif(trim(mother_birth_country), '')) as {{ dbt.type_string() }})   as mother_birth_country,
    cast(upper(nullif(trim(father_birth_country), '')) as {{ dbt.type_string() }})   as father_birth_country,
    cast(n_foreign_born_grandparents as {{ dbt.type_int() }})  as n_foreign_born_grandparents,
    cast(immigrant_category as {{ dbt.type_string() }})        as immigrant_category,
    cast(first_immigration_date as date)                       as first_immigration_date,
    cast(death_date as date)                                   as death_date,
    cast({{ date_part_int('year', 'death_date') }} as {{ dbt.type_int() }}) as death_year,
    cast(register_year as {{ dbt.type_int() }})                as source_register_year,
    cast(vintage as date)                                      as source_vintage
from ranked
