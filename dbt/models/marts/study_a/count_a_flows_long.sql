{{ config(materialized='table') }}
-- Study A Figs 3.1-3.6 drawn as the study draws them (two lines, immigrations and emigrations):
-- rate_a_flows_variants in long form, one row per year x population x variant x flow.
with f as (select * from {{ ref('rate_a_flows_variants') }})
select year, population, dating, multi_migrants, variant, selected, in_study_window, provisional,
       cast('immigrations' as {{ dbt.type_string() }}) as flow, immigrations as migrations
from f
union all
select year, population, dating, multi_migrants, variant, selected, in_study_window, provisional,
       cast('emigrations' as {{ dbt.type_string() }}), emigrations
from f
