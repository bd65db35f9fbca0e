{{ config(materialized='table') }}
-- Study A, national and centrality series 2000-2013 (Figs 3.11-3.18, 5.1-5.26): emigrations by
-- immigrants in year t / immigrants resident on 1 January t, x 100, by breakdown.
-- Numerator classified at the event (var study_a_numerator_classification), denominator on 1 Jan.
-- Multi-migrants per var study_a_micro_multi_migrants (default include, §2.4 [ASSUMPTION]).
{% set bds = [
    ['total', []],
    ['sex', ['sex']],
    ['age_group', ['age_group']],
    ['botid_group', ['botid_group_a3b']],
    ['country_group', ['country_group_a']],
    ['centrality', ['centrality']],
    ['centrality_x_botid', ['centrality', 'botid_group_a3b']],
    ['centrality_x_country_group', ['centrality', 'country_group_a']],
    ['centrality_x_sex', ['centrality', 'sex']],
    ['centrality_x_age_group', ['centrality', 'age_group']],
] %}
with cov as (select * from {{ ref('int_register_coverage') }}),
ev as (
    select year, sex, country_group_a, botid_group_a3b, centrality,
           {{ age_group_a('age_a') }} as age_group,
           1 as emigration, 0 as resident
    from {{ ref('int_study_a_events') }}
    where year >= {{ var('study_a_micro_first_year') }}
    {% if var('study_a_micro_multi_migrants') == 'exclude' %} and not multi_migrant {% endif %}
),
st as (
    select year, sex, country_group_a, botid_group_a3b, centrality,
           {{ age_group_a('age_a') }} as age_group,
           0 as emigration, 1 as resident
    from {{ ref('int_study_a_stock') }}
    where year >= {{ var('study_a_micro_first_year') }}
),
unioned as (select * from ev union all select * from st),
cells as (
    {{ cells_union('unioned', bds, ['year'], 'sum(emigration) as emigrations, sum(resident) as population_jan1') }}
)
select
    c.breakdown, c.dim1, c.level1, c.dim2, c.level2,
    cast(c.year as {{ dbt.type_int() }})                   as year,
    cast(c.emigrations as {{ dbt.type_bigint() }})         as emigrations,
    cast(c.population_jan1 as {{ dbt.type_bigint() }})     as population_jan1,
    cast(100.0 * c.emigrations / nullif(c.population_jan1, 0) as {{ type_double() }}) as rate_per_100,
    {{ small_cell('c.emigrations', 'c.population_jan1') }} as small_cell,
    cast(c.year > cov.last_final_year as boolean)          as provisional,
    cast(c.year <= {{ var('study_a_last_year') }} as boolean) as in_study_window
from cells as c
cross join cov
