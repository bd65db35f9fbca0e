{{ config(materialized='table') }}
-- Study A Figs 5.27-5.47 by county (2013 borders) and five-year period: the variant the settings
-- select (var study_a_admin_emigration_dating x var study_a_micro_multi_migrants) of
-- study_a/rate_a_county_period_variants, where the definitions are. county_code '00' = national.
select breakdown, dim1, level1, period, county_code, county_name, n_years, emigrations,
       population_jan1_sum, population_jan1_mean, rate_pooled_per_100, rate_mean_of_years_per_100,
       rate_per_100, composition_share_pct, small_cell, provisional, county_population_jan1_sum,
       dating, multi_migrants
from {{ ref('rate_a_county_period_variants') }}
where selected
