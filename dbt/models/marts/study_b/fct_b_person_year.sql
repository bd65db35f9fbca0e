{{ config(materialized='table') }}
-- Study B risk set (§4.1): labour immigrants (first immigration for work, or a Nordic citizen at
-- immigration; adult at arrival, var study_b_adult_arrival_age), person-years 2000-2020 at ages
-- 20-65 (age = year - birth_year), from the year of the first immigration, first spell only: exit
-- after the first emigration (outcome y: 0 stay, 1 return to the country of birth, 2 onward).
-- Exclusions per vars: persons whose first emigration has no destination (study_b_missing_destination
-- = 'person'; 'censor' drops that year only; 'return' codes it as return), self-employed in t-1
-- (study_b_self_employed = 'person_year' drops the year; 'person' drops the person).
-- Covariates are those of fct_person_year at t-1; inc_pct is re-ranked within the sample and year
-- (var study_b_income_percentile_reference = 'sample'; 'residents_20_65' uses income_pct_20_65).
-- A separate model, not a filter: the rules are person-level (first spell, exit, exclusions).
-- The model's income and wealth groups (§4.1) are columns here, so the descriptives and the model
-- read one definition: inc_group from inc_pct (macro inc_group_b; 'none' = no earned income in
-- t-1), wealth_group = le0 for net wealth <= 0, else quintiles Q1-Q5 of the positive part within the
-- sample and year ('unknown' when not delivered). Income stays nominal (income_nok): the CPI series
-- (SSB table 03014) is not yet sourced into a seed; inc_pct and the groups are within-year ranks, so
-- any deflator common to a year leaves them, and the model, unchanged.
-- The SQL is the macro study_b_panel (dbt/macros/study_b.sql), shared with the missing-destination variants.
{{ study_b_panel(var('study_b_missing_destination'), var('study_b_self_employed')) }}
