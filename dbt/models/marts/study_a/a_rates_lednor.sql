{{ config(materialized='table') }}
-- Study A Figure 4.2: the emigration rate (per 100) of each country group and Norway's
-- unemployment rate LEDNOR (%, seed macro_series) per year, in long form so that the four lines
-- share one axis as in the study. Rates from rate_a_macro (the settings' variant; all ages and
-- sexes); the LEDNOR rows carry no counts.
with r as (
    select year, country_group, emigrations, population_jan1, rate_per_100, lednor, provisional, in_study_window
    from {{ ref('rate_a_macro') }}
    where sex = 0 and age_group = 'all' and country_group in (1, 2, 3)
)
select cast(year as {{ dbt.type_int() }}) as year,
       cast(cast(country_group as {{ dbt.type_string() }}) as {{ dbt.type_string() }}) as series,
       emigrations, population_jan1,
       cast(rate_per_100 as {{ type_double() }}) as value, provisional, in_study_window
from r
union all
select cast(year as {{ dbt.type_int() }}), cast('lednor' as {{ dbt.type_string() }}),
       cast(null as {{ dbt.type_bigint() }}), cast(null as {{ dbt.type_bigint() }}),
       cast(max(lednor) as {{ type_double() }}), cast(max(case when provisional then 1 else 0 end) = 1 as boolean),
       cast(max(case when in_study_window then 1 else 0 end) = 1 as boolean)
from r
group by year
