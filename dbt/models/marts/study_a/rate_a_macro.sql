{{ config(materialized='table') }}
-- Study A chapter 4 input series (Table 4.1) and Figs 3.10/4.2: the variant the settings select
-- (var study_a_admin_emigration_dating x var study_a_macro_multi_migrants, default exclude, §2.4)
-- of study_a/rate_a_macro_variants, where the definitions are. Columns as before (the SUR models
-- read them); dating and multi_migrants name the variant.
select year, country_group, sex, age_group, emigrations, population_jan1, n_botid_short, n_botid_medium,
       emi, rate_per_100, anko, anme, beh, lednor, led1, led2, relinnt1, relinnt2, relinnt3, small_cell, provisional,
       in_study_window, dating, multi_migrants
from {{ ref('rate_a_macro_variants') }}
where selected
