{{ config(materialized='table') }}
-- Study C Figs 1-3 (§3.5 estimator 1): annual emigrations of 18-35-year-olds by population group,
-- the 1 January and 31 December stocks (both restricted to the cohorts aged 18-35 on 31 Dec t; the
-- 31 Dec stock = residents on 1 Jan t+1), the mean population and the rate per 100 of the mean
-- population; also the person-year rate (estimator 2) as a cross-check (§8.12).
with cov as (select * from {{ ref('int_register_coverage') }}),
ev as (
    select year, population_group, count(*) as emigrations
    from {{ ref('int_c_events') }} group by year, population_group
),
jan1 as (
    select year, population_group, count(*) as population_jan1
    from {{ ref('int_c_person_years') }} group by year, population_group
),
dec31_base as (
    -- residents on 1 Jan t+1 whose age on 31 Dec t is 18-35
    select py.year - 1 as year, py.group5_c, py.is_descendant_c
    from {{ ref('fct_person_year') }} as py
    where py.resident_jan1
      and (py.year - 1 - py.birth_year) between {{ var('study_c_min_age') }} and {{ var('study_c_max_age') }}
      and py.year - 1 between {{ var('study_c_first_year') }} and {{ var('study_c_last_year') }}
),
dec31 as (
    select year, population_group, count(*) as population_dec31 from (
        select year, group5_c as population_group from dec31_base
        union all
        select year, 'G1+G2' from dec31_base where is_descendant_c
        union all
        select year, 'all' from dec31_base
    ) as x group by year, population_group
)
select
    cast(j.year as {{ dbt.type_int() }})                           as year,
    cast(j.population_group as {{ dbt.type_string() }})            as population_group,
    cast(coalesce(e.emigrations, 0) as {{ dbt.type_bigint() }})    as emigrations,
    cast(j.population_jan1 as {{ dbt.type_bigint() }})             as population_jan1,
    cast(case when j.year < cov.last_register_year then coalesce(d.population_dec31, 0) end
         as {{ dbt.type_bigint() }})                               as population_dec31,
    cast(case when j.year < cov.last_register_year
              then cast(j.population_jan1 + coalesce(d.population_dec31, 0) as {{ type_double() }}) / 2 end
         as {{ type_double() }}) as mean_population,
    -- in double throughout: Spark divides decimals (100.0, 2.0) at reduced precision
    cast(case when j.year < cov.last_register_year
              then cast(100 as {{ type_double() }}) * coalesce(e.emigrations, 0)
                   / nullif(cast(j.population_jan1 + coalesce(d.population_dec31, 0) as {{ type_double() }}) / 2, 0) end
         as {{ type_double() }})                                   as rate_per_100,
    cast(j.population_jan1 as {{ dbt.type_bigint() }})             as person_years,
    cast(100.0 * coalesce(e.emigrations, 0) / nullif(j.population_jan1, 0) as {{ type_double() }}) as rate_per_100_py,
    {{ small_cell('coalesce(e.emigrations, 0)', 'j.population_jan1') }} as small_cell,
    cast(j.year > cov.last_final_year as boolean)                  as provisional
from jan1 as j
cross join cov
left join ev as e on e.year = j.year and e.population_group = j.population_group
left join dec31 as d on d.year = j.year and d.population_group = j.population_group
