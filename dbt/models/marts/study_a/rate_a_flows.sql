{{ config(materialized='table') }}
-- Study A Figs 3.1-3.6 (flows) and 3.10 (rate): the variant the settings select
-- (var study_a_admin_emigration_dating x var study_a_macro_multi_migrants) of
-- study_a/rate_a_flows_variants, where the definitions are. multi_migrant_emigrations counts the
-- multi-migrants' emigrations beside (dropped from `emigrations` when they are excluded).
select year, population, immigrations, emigrations, multi_migrant_emigrations, population_jan1,
       rate_per_100, provisional, in_study_window, administrative_emigrations, dating, multi_migrants, flow
from {{ ref('rate_a_flows_variants') }}
where selected
