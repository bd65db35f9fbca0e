{{ config(materialized='table') }}
-- Study A Figure 4.2: the emigration rate (per 100) of each country group beside Norway's
-- unemployment rate LEDNOR (%, seed macro_series) per year. Rates from rate_a_macro (the settings'
-- variant; all ages and both sexes). LEDNOR is a column of every group's row (a macro series, not a
-- count), so that every row keeps the counts behind its rate for disclosure control.
select
    cast(year as {{ dbt.type_int() }})                  as year,
    cast(country_group as {{ dbt.type_string() }})     as series,
    emigrations,
    population_jan1,
    cast(rate_per_100 as {{ type_double() }})           as rate_per_100,
    cast(lednor as {{ type_double() }})                 as lednor,
    provisional,
    in_study_window,
    dating,
    multi_migrants
from {{ ref('rate_a_macro') }}
where sex = 0 and age_group = 'all' and country_group in (1, 2, 3)
