{{ config(materialized='table') }}
-- Emigration rate by year, sex and population (study A estimator §3.1):
--   rate_per_100 = 100 * registered emigrations dated in year t / residents on 1 January t.
-- population: 'all' = everybody; 'immigrants' = SSB immigrants (category B); 'non_immigrants'.
-- Multi-migrants and administrative emigrations are included (registered dating); the counts of
-- both are kept beside the rate so variants can be derived (study A §2.4, §7).
with cov as (select * from {{ ref('int_register_coverage') }}),
pops as (
    select 'all' as population
    union all
    select 'immigrants'
    union all
    select 'non_immigrants'
),
stock as (
    select py.year, py.sex, pops.population, count(*) as population_jan1
    from {{ ref('fct_person_year') }} as py
    inner join pops on pops.population = 'all'
              or (pops.population = 'immigrants' and py.is_immigrant)
              or (pops.population = 'non_immigrants' and not py.is_immigrant)
    where py.resident_jan1
    group by py.year, py.sex, pops.population
),
events as (
    select e.event_year as year, e.sex, pops.population,
           count(*) as emigrations,
           sum(case when e.is_administrative then 1 else 0 end) as administrative_emigrations,
           sum(case when e.multi_migrant then 1 else 0 end) as multi_migrant_emigrations
    from {{ ref('fct_emigration') }} as e
    inner join pops on pops.population = 'all'
              or (pops.population = 'immigrants' and e.is_immigrant)
              or (pops.population = 'non_immigrants' and not e.is_immigrant)
    cross join cov
    where e.event_year between cov.first_register_year and cov.last_register_year
    group by e.event_year, e.sex, pops.population
)
select
    cast(s.year as {{ dbt.type_int() }})                               as year,
    cast(s.sex as {{ dbt.type_int() }})                                as sex,
    cast(s.population as {{ dbt.type_string() }})                      as population,
    cast(coalesce(ev.emigrations, 0) as {{ dbt.type_bigint() }})       as emigrations,
    cast(coalesce(ev.administrative_emigrations, 0) as {{ dbt.type_bigint() }}) as administrative_emigrations,
    cast(coalesce(ev.multi_migrant_emigrations, 0) as {{ dbt.type_bigint() }})  as multi_migrant_emigrations,
    cast(s.population_jan1 as {{ dbt.type_bigint() }})                 as population_jan1,
    cast(100.0 * coalesce(ev.emigrations, 0) / nullif(s.population_jan1, 0) as {{ type_double() }}) as rate_per_100,
    {{ small_cell('coalesce(ev.emigrations, 0)', 's.population_jan1') }} as small_cell,
    cast(s.year > cov.last_final_year as boolean)                      as provisional
from stock as s
cross join cov
left join events as ev on ev.year = s.year and ev.sex = s.sex and ev.population = s.population
