{{ config(materialized='table') }}
-- Study A national and centrality series 2000-2013 (Figs 3.11-3.18, 5.1-5.26): the variant the
-- settings select (var study_a_admin_emigration_dating x var study_a_micro_multi_migrants, default
-- include, §2.4 [ASSUMPTION]) of study_a/rate_a_micro_variants, where the definitions are.
select breakdown, dim1, level1, dim2, level2, year, emigrations, population_jan1, rate_per_100,
       small_cell, provisional, in_study_window, dating, multi_migrants
from {{ ref('rate_a_micro_variants') }}
where selected
