{{ config(materialized='table') }}
-- Study C §8.3 N reconciliation: every N the study prints in a figure caption or the text,
-- computed by the pipeline (n_id is the key the published claims use; the published values live
-- in models_py/published/study_c.yaml and the scorecard sets them beside these).
-- Groups G1-G5 only (the figures' N is the row sum of Table A1, §2.5).
{%- set return_years = var("study_c_first_year") ~ '-' ~ var("study_c_return_last_emigration_year") %}
with ev as (
    select * from {{ ref('int_c_events') }}
    where population_group in ({{ quoted_list(var('study_c_groups')) }})
),
py as (
    select * from {{ ref('int_c_person_years') }}
    where population_group in ({{ quoted_list(var('study_c_groups')) }})
),
n as (
    select 'emigrations_g1_g5' as n_id, 'Emigrations, all groups (Figs 1L, 5L, 7L, 8L)' as description,
           'emigrations' as unit, count(*) as pipeline_n from ev
    union all
    select 'emigrations_g1_g3', 'Emigrations, G1+G2+G3 (Fig 1R)', 'emigrations', count(*)
    from ev where group5_c in ('G1', 'G2', 'G3')
    union all
    select 'emigrations_known_non_origin', 'Emigrations to a known, non-origin country (Figs 5R, 8R)', 'emigrations',
           count(*)
    from ev where dest_cat7 not in ('ORIGIN', 'UNKNOWN')
    union all
    select 'emigrations_return_window', 'Emigrations {{ return_years }}, the return base (Figs 6, 9)', 'emigrations',
           count(*)
    from ev where in_return_window
    union all
    select 'emigrations_return_window_origin', 'Return base, to the origin country (Fig 10L)', 'emigrations', count(*)
    from ev where in_return_window and dest_type3 = 'ORIGIN'
    union all
    select 'emigrations_return_window_other', 'Return base, to another known country (Fig 10R)', 'emigrations', count(*)
    from ev where in_return_window and dest_type3 = 'OTHER_KNOWN'
    union all
    select 'emigrations_descendants', 'Emigrations, descendants G1+G2 (Figs 11, 14L, 15, 16)', 'emigrations', count(*)
    from ev where group5_c in ('G1', 'G2')
    union all
    select 'emigrations_descendants_known_non_origin', 'Descendants, to a known, non-origin country (Fig 14R)',
           'emigrations', count(*)
    from ev where group5_c in ('G1', 'G2') and dest_cat7 not in ('ORIGIN', 'UNKNOWN')
    union all
    select 'emigrations_descendants_return_window', 'Descendants, return base (Fig 17)', 'emigrations', count(*)
    from ev where group5_c in ('G1', 'G2') and in_return_window
    union all
    select 'persons_descendants', 'Persons in the sample, descendants G1+G2 (§2.5)', 'persons',
           count(distinct person_id)
    from py where group5_c in ('G1', 'G2')
    union all
    select 'person_years_g1_g5', 'Person-years, all groups (Fig 2L)', 'person_years', count(*) from py
    union all
    select 'person_years_g1_g3', 'Person-years, G1+G2+G3 (Fig 2R)', 'person_years', count(*)
    from py where group5_c in ('G1', 'G2', 'G3')
)
select
    cast(n_id as {{ dbt.type_string() }})          as n_id,
    cast(description as {{ dbt.type_string() }})   as description,
    cast(unit as {{ dbt.type_string() }})          as unit,
    cast(pipeline_n as {{ dbt.type_bigint() }})    as pipeline_n
from n
