{{ config(materialized='table') }}
-- Study C §8.5 / §2.9: education is "bachelor or more" or else "low", and "low" includes a
-- missing education. This diagnostic reports the missing share apart, per group, among the
-- person-years (education at the start of t) and among the emigrations (education before the
-- emigration), pooled over 2000-2023.
with py as (
    select population_group, count(*) as person_years,
           sum(case when educ_missing then 1 else 0 end) as person_years_educ_missing,
           sum(case when educ_c = 'low' then 1 else 0 end) as person_years_low
    from {{ ref('int_c_person_years') }} group by population_group
),
ev as (
    select population_group, count(*) as emigrations,
           sum(case when educ_missing then 1 else 0 end) as emigrations_educ_missing,
           sum(case when educ_c = 'low' then 1 else 0 end) as emigrations_low
    from {{ ref('int_c_events') }} group by population_group
)
select
    cast(py.population_group as {{ dbt.type_string() }})                  as population_group,
    cast(py.person_years as {{ dbt.type_bigint() }})                      as person_years,
    cast(py.person_years_educ_missing as {{ dbt.type_bigint() }})         as person_years_educ_missing,
    cast(100.0 * py.person_years_educ_missing / nullif(py.person_years, 0) as {{ type_double() }})
                                                                          as person_years_missing_pct,
    -- the part of 'low' that is missing education
    cast(100.0 * py.person_years_educ_missing / nullif(py.person_years_low, 0) as {{ type_double() }})
                                                                          as person_years_low_missing_pct,
    cast(coalesce(ev.emigrations, 0) as {{ dbt.type_bigint() }})          as emigrations,
    cast(coalesce(ev.emigrations_educ_missing, 0) as {{ dbt.type_bigint() }}) as emigrations_educ_missing,
    cast(100.0 * coalesce(ev.emigrations_educ_missing, 0) / nullif(ev.emigrations, 0) as {{ type_double() }})
                                                                          as emigrations_missing_pct,
    cast(100.0 * coalesce(ev.emigrations_educ_missing, 0) / nullif(ev.emigrations_low, 0) as {{ type_double() }})
                                                                          as emigrations_low_missing_pct,
    {{ small_cell('coalesce(ev.emigrations, 0)', 'py.person_years') }}   as small_cell
from py
left join ev on ev.population_group = py.population_group
