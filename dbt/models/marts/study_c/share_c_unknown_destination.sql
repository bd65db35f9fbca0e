{{ config(materialized='table') }}
-- Study C §8.4 / App.1: share of emigrations with an unknown destination (administrative
-- emigrations mostly) by group and year, and pooled over 2000-2023 and over the return window.
-- breakdown 'year': one row per year; 'pooled': year is null, years names the span.
with ev as (select * from {{ ref('int_c_events') }}),
cells as (
    select 'year' as breakdown, population_group, year,
           cast(year as {{ dbt.type_string() }}) as years,
           count(*) as emigrations,
           sum(case when dest_cat7 = 'UNKNOWN' then 1 else 0 end) as unknown_destination,
           sum(case when is_administrative then 1 else 0 end) as administrative
    from ev group by population_group, year
    union all
    select 'pooled', population_group, cast(null as {{ dbt.type_int() }}),
           '{{ var("study_c_first_year") }}-{{ var("study_c_last_year") }}',
           count(*), sum(case when dest_cat7 = 'UNKNOWN' then 1 else 0 end),
           sum(case when is_administrative then 1 else 0 end)
    from ev group by population_group
    union all
    select 'pooled', population_group, cast(null as {{ dbt.type_int() }}),
           '{{ var("study_c_first_year") }}-{{ var("study_c_return_last_emigration_year") }}',
           count(*), sum(case when dest_cat7 = 'UNKNOWN' then 1 else 0 end),
           sum(case when is_administrative then 1 else 0 end)
    from ev where in_return_window group by population_group
)
select
    cast(breakdown as {{ dbt.type_string() }})          as breakdown,
    cast(population_group as {{ dbt.type_string() }})   as population_group,
    cast(year as {{ dbt.type_int() }})                  as year,
    cast(years as {{ dbt.type_string() }})              as years,
    cast(emigrations as {{ dbt.type_bigint() }})        as emigrations,
    cast(unknown_destination as {{ dbt.type_bigint() }}) as unknown_destination,
    cast(administrative as {{ dbt.type_bigint() }})     as administrative,
    cast(100.0 * unknown_destination / nullif(emigrations, 0) as {{ type_double() }}) as unknown_share_pct,
    {{ small_cell('emigrations') }}                     as small_cell
from cells
