{{ config(materialized='table') }}
-- Study A §7: share of administrative emigrations among immigrants' emigrations, by registered
-- event year and country group (country_group 0 = all immigrants).
with ev as (select * from {{ ref('fct_emigration') }} where is_immigrant),
cells as (
    select event_year, country_group_a, count(*) as emigrations,
           sum(case when is_administrative then 1 else 0 end) as administrative
    from ev group by event_year, country_group_a
    union all
    select event_year, 0, count(*), sum(case when is_administrative then 1 else 0 end)
    from ev group by event_year
)
select cast(c.event_year as {{ dbt.type_int() }}) as year,
       cast(c.country_group_a as {{ dbt.type_int() }}) as country_group,
       cast(c.emigrations as {{ dbt.type_bigint() }}) as emigrations,
       cast(c.administrative as {{ dbt.type_bigint() }}) as administrative_emigrations,
       cast(100.0 * c.administrative / nullif(c.emigrations, 0) as {{ type_double() }}) as administrative_share_pct,
       cast(c.event_year > cov.last_final_year as boolean) as provisional
from cells as c
cross join {{ ref('int_register_coverage') }} as cov
